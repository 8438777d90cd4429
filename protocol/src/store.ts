import { z } from 'zod';
import { CLOCK_MARKS, type ClockMark, type StoredReading } from './telemetry';

// The one interface behind which every time-series store sits (embedded SQLite, InfluxDB), and the shapes it
// answers in (the API serves them as they are). Implementations live in store/.

/** What a window of points is folded into. */
export const AGGREGATES = ['mean', 'min', 'max', 'last', 'sum', 'count'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface RangeQuery {
  kind: string;
  fields: string[];
  from: number;
  to: number;
  /** Window for aggregation, ms. Absent: raw points. Stores answer from the coarsest rollup that fits. */
  windowMs?: number;
  aggregate?: Aggregate;
  /**
   * The embedded store answers the part of a range past the retention of the source serving `windowMs` in
   * coarser windows of a source that still holds it (store/README.md). `true`: windows of `windowMs` only, that
   * part left out (for a caller that reads each point as one window of `windowMs`).
   */
  exactWindow?: boolean;
  devices?: string[];
  ward?: string;
}

export const seriesSchema = z.object({
  device: z.string(),
  ward: z.string(),
  field: z.string(),
  /** [epoch ms, value] ascending by time. */
  points: z.array(z.tuple([z.number(), z.number()])),
  /**
   * Which points rest on readings whose time is uncertain (readingSchema `clock`: taken before the gateway's clock
   * was synchronised, or moved by a clock step it measured), ascending. Raw points: [ts, mark] of each marked
   * point. Windows (RangeQuery `windowMs`): [window start, mark] of each window of the series holding at least one
   * marked reading, 'unsynced' when it holds both marks (windowClock). Absent: none. Marks are kept as long as the
   * raw readings; windows older than that carry none.
   */
  clock: z.array(z.tuple([z.number(), z.enum(CLOCK_MARKS)])).optional(),
});
export type Series = z.infer<typeof seriesSchema>;

/** Windows start at multiples of windowMs since the epoch, as InfluxQL GROUP BY time() does. */
export function windowStart(ts: number, windowMs: number): number {
  return Math.floor(ts / windowMs) * windowMs;
}

/**
 * A windowed series' `clock` (Series.clock) from the marks of its device's readings in its range: each mark's
 * time taken to its window, 'unsynced' winning over 'corrected' in a window, only windows the series has a point
 * in (a window of readings without this series' field, or left out of the answer, says nothing), ascending.
 * The series' points are given as pairs or as their times (ColumnSeries.ts).
 */
export function windowClock(
  marks: Iterable<readonly [number, ClockMark]>,
  windowMs: number,
  points: ReadonlyArray<readonly [number, number]> | Float64Array,
): Array<[number, ClockMark]> {
  const byWindow = new Map<number, ClockMark>();
  for (const [ts, mark] of marks) {
    const w = windowStart(ts, windowMs);
    if (byWindow.get(w) !== 'unsynced') byWindow.set(w, mark);
  }
  if (byWindow.size === 0) return [];
  const out: Array<[number, ClockMark]> = [];
  for (const p of points) {
    const t = typeof p === 'number' ? p : p[0];
    const mark = byWindow.get(t);
    if (mark) out.push([t, mark]);
  }
  return out;
}

/**
 * A series as two columns: the same points, no JS array per point. A day of minute windows for 50 devices is
 * 72,000 points: as arrays they cost more CPU to keep alive (GC), to pass between threads (structured clone) and
 * to encode than to read from the store. Typed arrays are moved between threads without a copy.
 */
export interface ColumnSeries {
  device: string;
  ward: string;
  field: string;
  /** Epoch ms, ascending. */
  ts: Float64Array;
  values: Float64Array;
  /** As Series `clock` (few: only marked points or windows), kept as it is. */
  clock?: Series['clock'];
}

export function seriesToColumns(s: Series): ColumnSeries {
  const n = s.points.length;
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = s.points[i]!;
    ts[i] = p[0];
    values[i] = p[1];
  }
  return { device: s.device, ward: s.ward, field: s.field, ts, values, ...(s.clock ? { clock: s.clock } : {}) };
}

export function columnsToSeries(c: ColumnSeries): Series {
  const points = new Array<[number, number]>(c.ts.length);
  for (let i = 0; i < points.length; i++) points[i] = [c.ts[i]!, c.values[i]!];
  return { device: c.device, ward: c.ward, field: c.field, points, ...(c.clock ? { clock: c.clock } : {}) };
}

export interface LatestFilter {
  kind?: string;
  ward?: string;
  devices?: string[];
}

export const deadLetterSchema = z.object({
  ts: z.number(),
  topic: z.string(),
  gateway: z.string().nullable(),
  device: z.string().nullable(),
  reason: z.string(),
  raw: z.string(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

export interface TimeSeriesStore {
  /**
   * Writes take effect in the order writeBatch was called, even when the caller does not wait for one
   * before the next (one writer applying calls one after the other: the SQLite store, inline or on its
   * thread). Unset: two writes in flight may land in either order (a server store over HTTP).
   */
  readonly writesInCallOrder?: boolean;
  /**
   * Resolves only once the batch is durable. A reading's identity is who produced it, never its time:
   * (gateway, seq). The same (gateway, seq) written again (a redelivery) is stored once; two readings of
   * one device with the same `ts` and different (gateway, seq) (a gateway clock stepped back, a device
   * moved to another gateway) are both kept and both returned by `query`. Derived values (seq -1) are
   * not gateway readings: their identity is (kind, device, ts), and a rewrite overwrites (a running hour).
   * How each store keeps the rule, and where a store's time precision limits it: store/README.md.
   */
  writeBatch(readings: StoredReading[]): Promise<void>;
  query(q: RangeQuery): Promise<Series[]>;
  /** Optional: the same answer as `query`, as columns (the embedded store; the history API encodes them directly). */
  queryColumns?(q: RangeQuery): Promise<ColumnSeries[]>;
  latest(filter?: LatestFilter): Promise<StoredReading[]>;
  writeDeadLetters(letters: DeadLetter[]): Promise<void>;
  deadLetters(opts: { from?: number; to?: number; limit?: number }): Promise<DeadLetter[]>;
  /**
   * Gateway sequence numbers stored for a gateway, ascending (loss checking). Derived values, which
   * ingest stores under their source's gateway with seq -1, are not gateway readings and are left out.
   */
  sequences(gateway: string, from?: number, to?: number): Promise<number[]>;
  close(): Promise<void>;
}
