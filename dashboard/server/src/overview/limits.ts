import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Logger } from '@tamky/service-kit';

const hhmm = z.string().regex(/^\d{2}:\d{2}$/, 'must be HH:MM');
export const noiseLimitsSchema = z.object({
  standard: z.string().optional(),
  timeZone: z.string().default('Asia/Ho_Chi_Minh'),
  dayStarts: hhmm.default('06:00'),
  nightStarts: hhmm.default('21:00'),
  zones: z.record(z.string(), z.object({ day: z.number(), night: z.number() })),
});
export const aqiLimitsSchema = z
  .object({
    standard: z.string().optional(),
    levels: z.array(z.object({ max: z.number(), level: z.string(), color: z.string(), vi: z.string().optional(), en: z.string().optional() })).min(1),
  })
  .passthrough();

export type NoiseLimits = z.infer<typeof noiseLimitsSchema>;
export type AqiLimits = z.infer<typeof aqiLimitsSchema>;
export interface Limits {
  noise: NoiseLimits;
  aqi: AqiLimits;
  sources: { noise: string; aqi: string };
}

const DEFAULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'defaults');

/**
 * Limits are data the city replaces: a file in `limitsDir` wins when it is valid, else the defaults shipped
 * in dashboard/server/defaults are used (and the reason is logged, so a typo does not go unnoticed).
 */
export function loadLimits(limitsDir: string, logger: Logger): Limits {
  const load = <T extends z.ZodType>(names: string[], schema: T): { value: z.infer<T>; source: string } => {
    for (const name of names) {
      const file = join(limitsDir, name);
      if (!existsSync(file)) continue;
      try {
        const parsed = schema.safeParse(parseYaml(readFileSync(file, 'utf8')));
        if (parsed.success) return { value: parsed.data, source: file };
        logger.warn({ file, issues: parsed.error.issues.slice(0, 3) }, 'limits file not in the expected shape: using built-in defaults');
      } catch (err) {
        logger.warn({ file, err }, 'cannot read limits file: using built-in defaults');
      }
    }
    const file = join(DEFAULTS_DIR, names[0]!);
    return { value: schema.parse(parseYaml(readFileSync(file, 'utf8'))), source: file };
  };
  const noise = load(['qcvn26-2010.yaml', 'qcvn26.yaml', 'noise.yaml'], noiseLimitsSchema);
  const aqi = load(['vn-aqi.yaml', 'vn_aqi.yaml'], aqiLimitsSchema);
  return { noise: noise.value, aqi: aqi.value, sources: { noise: noise.source, aqi: aqi.source } };
}

/** Minutes since local midnight in `timeZone`. */
function localMinutes(ts: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ts));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

const toMinutes = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

export function noiseLimitAt(limits: NoiseLimits, zone: string, ts: number): { limit: number; period: 'day' | 'night' } | null {
  const z = limits.zones[zone];
  if (!z) return null;
  const m = localMinutes(ts, limits.timeZone);
  const day = toMinutes(limits.dayStarts);
  const night = toMinutes(limits.nightStarts);
  const isDay = day < night ? m >= day && m < night : m >= day || m < night;
  return isDay ? { limit: z.day, period: 'day' } : { limit: z.night, period: 'night' };
}

export function aqiLevel(limits: AqiLimits, value: number): { level: string; color: string } {
  const rounded = Math.round(value);
  const found = limits.levels.find((l) => rounded <= l.max) ?? limits.levels[limits.levels.length - 1]!;
  return { level: found.level, color: found.color };
}
