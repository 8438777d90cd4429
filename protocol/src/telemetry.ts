import { z } from 'zod';
import { ID_HINT, ID_PATTERN } from './ids';
import { UNIT_CODES } from './units';

export const PROTOCOL_VERSION = 1;

const id = z.string().regex(ID_PATTERN, ID_HINT);
const fieldName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case');
/** Ids and field names as the wire allows them: APIs that take them in a query check them with the same rule. */
export { id as idSchema, fieldName as fieldNameSchema };

export const valueSchema = z.object({
  /** The value after the profile's scale and offset. */
  v: z.number().finite(),
  /** Unit code from UNITS. */
  u: z.enum(UNIT_CODES),
});

/**
 * How far a reading's `ts` can be trusted, when the gateway knows it cannot be fully (absent: its clock
 * was synchronised and steady). `unsynced`: read while the gateway's clock was not known to be
 * synchronised, and sent before a step showed by how much it was off. `corrected`: read on a clock that
 * then stepped while the reading was still in the outbox; `ts` was moved by the step the edge measured
 * against its monotonic clock, so it is on the clock as set after the step.
 */
export const CLOCK_MARKS = ['unsynced', 'corrected'] as const;
export type ClockMark = (typeof CLOCK_MARKS)[number];

/** A stored mark read back (a store's column), or undefined when it is none. */
export function asClockMark(v: unknown): ClockMark | undefined {
  return (CLOCK_MARKS as readonly unknown[]).includes(v) ? (v as ClockMark) : undefined;
}

/**
 * One poll of one device. `ts` is the time the gateway read the device (epoch ms) and `seq` the
 * gateway's sequence number: both are fixed at the edge and nothing downstream invents either, so
 * (gateway, seq) identifies a reading end to end and in every store; `ts` is when, never which.
 */
export const readingSchema = z.object({
  device: id,
  ts: z.number().int().positive(),
  seq: z.number().int().nonnegative(),
  values: z.record(fieldName, valueSchema).refine((r) => Object.keys(r).length > 0, 'a reading needs at least one value'),
  clock: z.enum(CLOCK_MARKS).optional(),
  /**
   * The gateway's clock era (absent: 0): the gateway starts a new one whenever its clock goes backwards,
   * so within one (gateway, era) a device's timestamps strictly increase. A store that can tell readings
   * apart only by time (VictoriaMetrics) keys them by era as well.
   */
  era: z.number().int().nonnegative().optional(),
});

export const telemetryBatchSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  gateway: id,
  readings: z.array(readingSchema).min(1).max(10_000),
});

export type Value = z.infer<typeof valueSchema>;
export type Reading = z.infer<typeof readingSchema>;
export type TelemetryBatch = z.infer<typeof telemetryBatchSchema>;

/** A reading as the store and the live feed see it: the batch envelope folded in, the registry's tags added. */
export const storedReadingSchema = z.object({
  kind: z.string(),
  device: z.string(),
  gateway: z.string(),
  ward: z.string(),
  ts: z.number(),
  seq: z.number(),
  values: z.record(z.string(), z.number()),
  /** The gateway's clock era (readingSchema), absent when 0. */
  era: z.number().optional(),
  /** How far `ts` can be trusted (readingSchema `clock`), absent when the gateway's clock was synchronised and steady. */
  clock: z.enum(CLOCK_MARKS).optional(),
});
export type StoredReading = z.infer<typeof storedReadingSchema>;
