import { CLOCK_MARKS, DEVICE_KINDS, ID_PATTERN, KIND_FIELDS, UNIT_CODES, type Reading } from '@tamky/protocol';

/**
 * Hand-written twins of protocol's zod schemas for the hot path (readingSchema, and the envelope of a
 * telemetry batch). zod's per-reading cost was a large share of ingest's CPU at city rates (bench/ingest/RESULTS.md).
 * They only answer "valid or not": the zod schemas stay the specification, and on a rejection the caller
 * asks zod for the reason, so dead letters read exactly as before. test/fast-validate.test.ts holds both
 * to the same verdicts over a corpus of good and bad payloads.
 */

const ID = ID_PATTERN;
const FIELD = /^[a-z][a-z0-9_]{0,63}$/;
const UNITS: ReadonlySet<string> = new Set(UNIT_CODES);

/**
 * A pattern test remembered per string: device ids and field names repeat reading after reading (a city
 * has thousands, not millions), and a set lookup costs a fraction of a regex run (five per reading).
 * Only matches are remembered, and the set is bounded: a flood of distinct names cannot grow memory.
 */
function rememberedTest(pattern: RegExp): (s: string) => boolean {
  const matched = new Set<string>();
  return (s) => {
    if (matched.has(s)) return true;
    if (!pattern.test(s)) return false;
    if (matched.size >= 20_000) matched.clear();
    matched.add(s);
    return true;
  };
}
export const isId = rememberedTest(ID);
export const isField = rememberedTest(FIELD);

export type FieldSpecs = (typeof KIND_FIELDS)[keyof typeof KIND_FIELDS];
/** Field specs per device kind, as one map lookup per reading (protocol's isDeviceKind scans the list of kinds). */
export const KIND_SPECS: ReadonlyMap<string, FieldSpecs> = new Map(DEVICE_KINDS.map((k) => [k, KIND_FIELDS[k]]));

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);

/**
 * True when zod's readingSchema would accept `x`. Nothing is copied: the caller reads device, ts, seq and
 * values[field].v/.u from `x` itself (keys zod would strip are simply never read).
 */
export function isReading(x: unknown): x is Reading {
  if (!isObject(x)) return false;
  const { device, ts, seq, values, clock, era } = x;
  if (typeof device !== 'string' || !isId(device)) return false;
  if (!isInt(ts) || ts <= 0) return false;
  if (!isInt(seq) || seq < 0) return false;
  if (clock !== undefined && !(CLOCK_MARKS as readonly unknown[]).includes(clock)) return false;
  if (era !== undefined && (!isInt(era) || era < 0)) return false;
  if (!isObject(values)) return false;
  let n = 0;
  for (const field in values) {
    if (!Object.hasOwn(values, field)) continue;
    const value = values[field];
    if (!isField(field) || !isObject(value)) return false;
    const { v, u } = value;
    if (typeof v !== 'number' || !Number.isFinite(v) || typeof u !== 'string' || !UNITS.has(u)) return false;
    n++;
  }
  return n > 0;
}

export interface Envelope {
  v: number;
  gateway: string;
  readings: unknown[];
}

/** The envelope when ingest's envelope schema (v: number, gateway: string, readings: 1..10000 items) accepts it. */
export function fastEnvelope(x: unknown): Envelope | undefined {
  if (!isObject(x)) return undefined;
  const { v, gateway, readings } = x;
  if (typeof v !== 'number' || !Number.isFinite(v) || typeof gateway !== 'string') return undefined;
  if (!Array.isArray(readings) || readings.length < 1 || readings.length > 10_000) return undefined;
  return { v, gateway, readings };
}
