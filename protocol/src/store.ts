import type { StoredReading } from './telemetry';

/**
 * The one interface behind which every time-series store sits (embedded SQLite, InfluxDB).
 * Types only: implementations live in store/.
 */
export type Aggregate = 'mean' | 'min' | 'max' | 'last' | 'sum' | 'count';

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

export interface Series {
  device: string;
  ward: string;
  field: string;
  /** [epoch ms, value] ascending by time. */
  points: Array<[number, number]>;
}

export interface LatestFilter {
  kind?: string;
  ward?: string;
  devices?: string[];
}

export interface DeadLetter {
  ts: number;
  topic: string;
  gateway: string | null;
  device: string | null;
  reason: string;
  raw: string;
}

export interface TimeSeriesStore {
  /**
   * Writes take effect in the order writeBatch was called, even when the caller does not wait for one
   * before the next (one writer applying calls one after the other: the SQLite store, inline or on its
   * thread). Unset: two writes in flight may land in either order (a server store over HTTP).
   */
  readonly writesInCallOrder?: boolean;
  /** Resolves only once the batch is durable. Idempotent: (kind, device, ts) is the key, a rewrite overwrites. */
  writeBatch(readings: StoredReading[]): Promise<void>;
  query(q: RangeQuery): Promise<Series[]>;
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
