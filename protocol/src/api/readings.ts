import { z } from 'zod';
import { MAX_CHART_WIDTH_PX } from '../chart-window';
import { cityModelSchema, deviceSchema } from '../city';
import { deviceHealthSchema } from '../gateway';
import { SERIES_REDUCTIONS } from '../series';
import { AGGREGATES, deadLetterSchema, seriesSchema } from '../store';
import { fieldNameSchema, idSchema, storedReadingSchema } from '../telemetry';
import { epochQuery } from './common';

const MAX_LIST = 1000;
/** A comma-separated list of names, each checked (no "__proto__" or other strays reaching the store). */
const list = (item: z.ZodString) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).max(MAX_LIST))
    .optional();

export const cityAnswerSchema = cityModelSchema;

export const latestQuerySchema = z.object({ kind: fieldNameSchema.optional(), ward: idSchema.optional() });
export const latestAnswerSchema = z.object({ readings: z.array(storedReadingSchema) });

/** `GET /api/history`: defaults (last 24 h, mean) and span limits are the server's (readings/history-query.ts). */
export const historyQuerySchema = z.object({
  kind: fieldNameSchema,
  fields: list(fieldNameSchema),
  from: epochQuery.optional(),
  to: epochQuery.optional(),
  windowMs: z.coerce.number().int().min(1000).optional(),
  aggregate: z.enum(AGGREGATES).optional(),
  devices: list(idSchema),
  ward: idSchema.optional(),
  /** The chart's width in pixels: the answer then has at most this many points per series (windowed). */
  width: z.coerce.number().int().min(1).max(MAX_CHART_WIDTH_PX).optional(),
});
export const historyAnswerSchema = z.object({
  series: z.array(seriesSchema),
  /**
   * The window the points are in (ms: the one asked for, or the one `width` chose), so a client knows whether a
   * Series.clock names readings or windows. Absent: raw points.
   */
  windowMs: z.number().optional(),
});
/** `GET /api/history.csv`: the same, and how the chart folded each device's fields into one line. */
export const historyCsvQuerySchema = historyQuerySchema.extend({ reduce: z.enum(SERIES_REDUCTIONS).optional() });

const at = { ts: z.number() };
export const wardOverviewSchema = z.object({
  ward: z.string(),
  /** `level` is a level id of config/limits/vn-aqi.yaml (good, moderate, … as shipped). */
  aqi: z.object({ value: z.number(), level: z.string(), color: z.string(), ...at, device: z.string() }).nullable(),
  noise: z.object({ laeq: z.number(), limit: z.number(), zone: z.string(), ...at, device: z.string() }).nullable(),
  water: z.object({ level: z.number(), alarmLevels: z.array(z.number()), stage: z.number(), ...at, device: z.string() }).nullable(),
  lights: z.object({ on: z.number(), dimmed: z.number(), failed: z.number(), total: z.number(), ...at }).nullable(),
  traffic: z.object({ flowPerHour: z.number(), congestion: z.number().nullable(), ...at }).nullable(),
  alarms: z.object({ critical: z.number(), major: z.number(), minor: z.number(), warning: z.number() }),
});
export type WardOverview = z.infer<typeof wardOverviewSchema>;
export const overviewAnswerSchema = z.object({ ts: z.number(), wards: z.array(wardOverviewSchema) });
export type Overview = z.infer<typeof overviewAnswerSchema>;

export const deadLetterQuerySchema = z.object({
  from: epochQuery.optional(),
  to: epochQuery.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(200),
});
export const deadLettersAnswerSchema = z.object({ deadLetters: z.array(deadLetterSchema), total: z.number(), more: z.boolean() });

export const deviceInfoSchema = z.object({
  device: deviceSchema,
  latest: storedReadingSchema.nullable(),
  health: deviceHealthSchema.nullable(),
});
export type DeviceInfo = z.infer<typeof deviceInfoSchema>;

/** NGSI-LD entities (JSON-LD): their shape follows the FIWARE Smart Data Models, not ours. */
export const ngsiLdAnswerSchema = z.array(z.record(z.string(), z.unknown()));
