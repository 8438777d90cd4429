import { z } from 'zod';
import { localHour } from './local-time';
import type { AqiLevelSpec } from './aqi-levels';

export { aqiLevelOf, rgbHex, type AqiLevelSpec } from './aqi-levels';

/**
 * The city's limits data (config/limits/*.yaml): VN_AQI table and levels, QCVN 26 noise, QCVN 05 ambient air,
 * the congestion index. One schema for every reader: ingest derives and alarms with it, the dashboard serves it
 * (`GET /api/limits`) and the web app colours and names AQI levels from the served copy.
 */

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);
const rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]);

export const aqiLevelSchema = z.object({
  /** Position on the official scale, 1 = best. */
  level: z.number().int(),
  /** Stable code used by the API, rules (`severityByLevel`) and the web app; names and colours may change. */
  id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _'),
  /** Inclusive upper bound of the (rounded) AQI. */
  max: z.number(),
  vi: z.string().min(1),
  en: z.string().min(1),
  colour: z.string(),
  rgb,
  /** Health advice for the public at this level, shown on the /public page. */
  advice: z.object({ vi: z.string().min(1), en: z.string().min(1) }).optional(),
}) satisfies z.ZodType<AqiLevelSpec>;

export const vnAqiTableSchema = z
  .object({
    index: z.array(z.number().nonnegative()).min(2).refine(ascending, 'must be strictly ascending'),
    breakpoints: z.record(z.string(), z.array(z.number().nonnegative()).min(2).refine(ascending, 'must be strictly ascending')),
    nowcast: z.object({
      hours: z.number().int().min(1).max(48),
      minWeight: z.number().gt(0).max(1),
      newest: z.number().int().min(1),
      required: z.number().int().min(0),
    }),
    levels: z
      .array(aqiLevelSchema)
      .min(1)
      .refine((ls) => ascending(ls.map((l) => l.max)), 'level maxima must be strictly ascending')
      .refine((ls) => new Set(ls.map((l) => l.id)).size === ls.length, 'level ids must be unique'),
  })
  .superRefine((t, ctx) => {
    for (const [name, bps] of Object.entries(t.breakpoints)) {
      if (bps.length > t.index.length)
        ctx.addIssue({
          code: 'custom',
          path: ['breakpoints', name],
          message: `has ${bps.length} breakpoints but index has ${t.index.length}`,
        });
    }
  });
export type VnAqiTable = z.output<typeof vnAqiTableSchema>;

export const noiseLimitsSchema = z
  .object({
    edition: z.string(),
    /** Local hours (the city's time zone): day is [dayStartHour, nightStartHour), night the rest. */
    dayStartHour: z.number().int().min(0).max(23),
    nightStartHour: z.number().int().min(0).max(23),
    zones: z.record(z.string(), z.object({ day: z.number(), night: z.number() })),
    /** Zone for noise meters whose registry entry has no (known) `zone`. */
    defaultZone: z.string(),
  })
  .refine((n) => n.zones[n.defaultZone] !== undefined, { path: ['defaultZone'], message: 'must name one of the zones' });
export type NoiseLimits = z.output<typeof noiseLimitsSchema>;

/** QCVN 05: per pollutant, averaging period → limit. */
export const airLimitsSchema = z.object({
  edition: z.string(),
  unit: z.string(),
  limits: z.record(z.string(), z.record(z.string(), z.number().positive())),
});
export type AirLimits = z.output<typeof airLimitsSchema>;

export const congestionConfigSchema = z.object({
  jamOccupancyPct: z.number().positive().max(100),
  freeFlowSpeedKmh: z.number().positive(),
  levels: z.array(z.object({ max: z.number(), en: z.string(), vi: z.string() })).min(1),
});
export type CongestionConfig = z.output<typeof congestionConfigSchema>;

/** QCVN 26 limit for a zone (unknown zone: the default zone) at the local hour of `ts` in the city's `timeZone`. */
export function noiseLimitAt(
  limits: NoiseLimits,
  zone: string | undefined,
  ts: number,
  timeZone: string,
): { limit: number; night: boolean } {
  const z = limits.zones[zone ?? limits.defaultZone] ?? limits.zones[limits.defaultZone]!;
  const h = localHour(ts, timeZone);
  const day =
    limits.dayStartHour < limits.nightStartHour
      ? h >= limits.dayStartHour && h < limits.nightStartHour
      : h >= limits.dayStartHour || h < limits.nightStartHour;
  return { limit: day ? z.day : z.night, night: !day };
}

export interface Limits {
  vnAqi: VnAqiTable;
  noise: NoiseLimits;
  air: AirLimits;
  congestion: CongestionConfig;
}

/** File names in a limits directory, per part. */
export const LIMITS_FILES = {
  vnAqi: 'vn-aqi.yaml',
  noise: 'qcvn26-2010.yaml',
  air: 'qcvn05-2013.yaml',
  congestion: 'congestion.yaml',
} as const satisfies Record<keyof Limits, string>;

/** `GET /api/limits`: the limits files as loaded and validated. */
export const limitsAnswerSchema = z.object({
  aqi: vnAqiTableSchema,
  noise: noiseLimitsSchema,
  air: airLimitsSchema,
  congestion: congestionConfigSchema,
});
export type LimitsAnswer = z.output<typeof limitsAnswerSchema>;

export const limitsAnswer = (limits: Limits): LimitsAnswer => ({
  aqi: limits.vnAqi,
  noise: limits.noise,
  air: limits.air,
  congestion: limits.congestion,
});
