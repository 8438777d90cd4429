import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Logger } from '@tamky/service-kit';

export const noiseLimitsSchema = z.object({
  edition: z.string().optional(),
  timeZone: z.string().default('Asia/Ho_Chi_Minh'),
  /** Local hours: day is [dayStartHour, nightStartHour), night the rest. */
  dayStartHour: z.number().int().min(0).max(23).default(6),
  nightStartHour: z.number().int().min(0).max(23).default(21),
  zones: z.record(z.string(), z.object({ day: z.number(), night: z.number() })),
  defaultZone: z.string().default('normal'),
});
export const aqiLimitsSchema = z
  .object({
    levels: z
      .array(
        z.object({
          level: z.union([z.number(), z.string()]),
          max: z.number(),
          vi: z.string().optional(),
          en: z.string(),
          colour: z.string().optional(),
          rgb: z.tuple([z.number(), z.number(), z.number()]).optional(),
        }),
      )
      .min(1),
  })
  .passthrough();

/** QCVN 05: per pollutant, averaging period → limit (µg/m³). */
export const airLimitsSchema = z.object({
  edition: z.string(),
  unit: z.string().optional(),
  limits: z.record(z.string(), z.record(z.string(), z.number())),
});

export type NoiseLimits = z.infer<typeof noiseLimitsSchema>;
export type AqiLimits = z.infer<typeof aqiLimitsSchema>;
export interface Limits {
  noise: NoiseLimits;
  aqi: AqiLimits;
  /** The files as loaded, for GET /api/limits. */
  raw: { noise: unknown; aqi: unknown; air: unknown };
  sources: { noise: string; aqi: string; air: string };
}

const DEFAULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'defaults');

/**
 * Limits are data the city replaces: a file in `limitsDir` wins when it is valid, else the defaults shipped
 * in dashboard/server/defaults are used (and the reason is logged, so a typo does not go unnoticed).
 */
export function loadLimits(limitsDir: string, logger: Logger): Limits {
  const load = <T extends z.ZodType>(names: string[], schema: T): { value: z.infer<T>; raw: unknown; source: string } => {
    for (const name of names) {
      const file = join(limitsDir, name);
      if (!existsSync(file)) continue;
      try {
        const raw: unknown = parseYaml(readFileSync(file, 'utf8'));
        const parsed = schema.safeParse(raw);
        if (parsed.success) return { value: parsed.data, raw, source: file };
        logger.warn({ file, issues: parsed.error.issues.slice(0, 3) }, 'limits file not in the expected shape: using built-in defaults');
      } catch (err) {
        logger.warn({ file, err }, 'cannot read limits file: using built-in defaults');
      }
    }
    const file = join(DEFAULTS_DIR, names[0]!);
    const raw: unknown = parseYaml(readFileSync(file, 'utf8'));
    return { value: schema.parse(raw), raw, source: file };
  };
  const noise = load(['qcvn26-2010.yaml', 'qcvn26.yaml', 'noise.yaml'], noiseLimitsSchema);
  const aqi = load(['vn-aqi.yaml', 'vn_aqi.yaml'], aqiLimitsSchema);
  // QCVN 05 ambient limits only draw limit lines on charts: the dashboard passes them on as the city wrote them.
  const air = load(['qcvn05-2013.yaml', 'qcvn05.yaml'], airLimitsSchema);
  return {
    noise: noise.value,
    aqi: aqi.value,
    raw: { noise: noise.raw, aqi: aqi.raw, air: air.raw },
    sources: { noise: noise.source, aqi: aqi.source, air: air.source },
  };
}

/** Minutes since local midnight in `timeZone`. */
function localMinutes(ts: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ts));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

export function noiseLimitAt(limits: NoiseLimits, zone: string, ts: number): { limit: number; period: 'day' | 'night' } | null {
  const z = limits.zones[zone] ?? limits.zones[limits.defaultZone];
  if (!z) return null;
  const m = localMinutes(ts, limits.timeZone);
  const day = limits.dayStartHour * 60;
  const night = limits.nightStartHour * 60;
  const isDay = day < night ? m >= day && m < night : m >= day || m < night;
  return isDay ? { limit: z.day, period: 'day' } : { limit: z.night, period: 'night' };
}

const NAMED_COLOURS: Record<string, string> = { green: '#00e400', yellow: '#ffff00', orange: '#ff7e00', red: '#ff0000', purple: '#8f3f97', brown: '#7e0023' };
const hex = (rgb: [number, number, number]) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

/** Level code as the API names it (good, moderate, poor, bad, very_bad, hazardous), from the file's English name. */
export function aqiLevel(limits: AqiLimits, value: number): { level: string; color: string } {
  const rounded = Math.round(value);
  const found = limits.levels.find((l) => rounded <= l.max) ?? limits.levels[limits.levels.length - 1]!;
  const color = found.rgb ? hex(found.rgb) : (NAMED_COLOURS[found.colour ?? ''] ?? found.colour ?? '#808080');
  return { level: found.en.toLowerCase().replace(/\s+/g, '_'), color };
}
