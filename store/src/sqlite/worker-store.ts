import { Worker } from 'node:worker_threads';
import {
  columnsToSeries,
  type ColumnSeries,
  type DeadLetter,
  type LatestFilter,
  type RangeQuery,
  type Series,
  type StoredReading,
  type TimeSeriesStore,
} from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { SqliteStoreConfig } from '../config';
import { encodeBatch, transferables } from './encoded-batch';
import type { RetentionResult } from './sqlite-store';
import type { StoreOp, StoreReply, StoreRequest } from './store-thread';

/** Defined (true) only in the compiled build (deploy/scripts/build.ts). */
declare const TAMKY_COMPILED: boolean | undefined;

/**
 * The thread's entry: compiled, its own bundle beside the service's (dist/store-thread.js); from sources, a
 * bootstrap that registers TypeScript loading first.
 */
const threadEntry = (): URL =>
  typeof TAMKY_COMPILED === 'boolean' && TAMKY_COMPILED
    ? new URL('./store-thread.js', import.meta.url)
    : new URL('./store-thread-bootstrap.mjs', import.meta.url);

/**
 * The SQLite store on a worker thread of its own (`worker: true`). better-sqlite3 is synchronous: inline,
 * a batch's INSERTs, rollup upserts and COMMIT block the event loop that also parses and validates the
 * next MQTT messages. On its own thread the store's work overlaps with ingest's on the second core.
 * Semantics are the inline store's: a call resolves after the worker's SqliteStore finished it (writes
 * committed), and calls run in the order made. If the thread dies, pending and later calls reject (the
 * caller retries as with any store failure) and the next call starts a new thread.
 */
export class SqliteWorkerStore implements TimeSeriesStore {
  /** The thread takes calls one at a time, in the order they were posted. */
  readonly writesInCallOrder = true;
  /**
   * Everything that changes, in one object only read through `this`, never reassigned on it: a wrapper made
   * with Object.create(store) (tests, adapters overriding one method) then shares it. As separate fields, a
   * wrapper's `this.nextId++` gave it a counter of its own, two calls got one id, and one reply was lost.
   */
  private readonly s: {
    worker: Worker | undefined;
    starting: Promise<Worker> | undefined;
    nextId: number;
    readonly pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
    closed: boolean;
  } = { worker: undefined, starting: undefined, nextId: 1, pending: new Map(), closed: false };

  constructor(
    private readonly config: SqliteStoreConfig,
    private readonly log?: Logger,
  ) {}

  /** Starts the thread and waits until the store is open (a bad path fails here, as inline). */
  async init(): Promise<void> {
    await this.thread();
  }

  private thread(): Promise<Worker> {
    if (this.s.worker) return Promise.resolve(this.s.worker);
    this.s.starting ??= new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(threadEntry(), { workerData: this.config });
      let ready = false;
      worker.on('message', (m: StoreReply) => {
        if ('ready' in m) {
          ready = true;
          this.s.worker = worker;
          this.s.starting = undefined;
          resolve(worker);
        } else if ('failed' in m) reject(new Error(`SQLite store (${this.config.path}) failed to open: ${m.failed.message}`));
        else if ('log' in m) (this.log as unknown as Record<string, (o: unknown, s?: string) => void> | undefined)?.[m.log]?.(m.obj, m.msg);
        else {
          const p = this.s.pending.get(m.id);
          if (!p) return;
          this.s.pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
        }
      });
      const gone = (why: string) => {
        if (this.s.worker === worker) this.s.worker = undefined;
        this.s.starting = undefined;
        if (!ready) reject(new Error(`SQLite store thread stopped before the store opened: ${why}`));
        for (const [id, p] of this.s.pending) {
          this.s.pending.delete(id);
          p.reject(new Error(`SQLite store thread stopped: ${why}`));
        }
        if (!this.s.closed) this.log?.error({ why }, 'SQLite store thread stopped; the next call starts a new one');
      };
      worker.on('error', (err) => gone(err.message));
      worker.on('exit', (code) => gone(`exit code ${code}`));
    });
    return this.s.starting;
  }

  private async call<T>(op: StoreOp, ...args: unknown[]): Promise<T> {
    return this.callTransferring<T>(op, args, []);
  }

  private async callTransferring<T>(op: StoreOp, args: unknown[], transfer: ArrayBuffer[]): Promise<T> {
    if (this.s.closed) throw new Error('store is closed');
    const worker = await this.thread();
    const id = this.s.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.s.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, op, args } satisfies StoreRequest, transfer);
    });
  }

  /** Encoded here, on the caller's thread: the batch's columns are handed to the store thread, not copied. */
  async writeBatch(readings: StoredReading[]): Promise<void> {
    if (readings.length === 0) return;
    const batch = encodeBatch(readings);
    await this.callTransferring('writeEncoded', [batch], transferables(batch));
  }
  writeDeadLetters(letters: DeadLetter[]): Promise<void> {
    return this.call('writeDeadLetters', letters);
  }
  /** Asked as columns: their arrays are moved from the store's thread, where structured-cloning one array per point cost more than the query. */
  async query(q: RangeQuery): Promise<Series[]> {
    return (await this.queryColumns(q)).map(columnsToSeries);
  }
  queryColumns(q: RangeQuery): Promise<ColumnSeries[]> {
    return this.call('queryColumns', q);
  }
  latest(filter?: LatestFilter): Promise<StoredReading[]> {
    return this.call('latest', filter);
  }
  deadLetters(opts: { from?: number; to?: number; limit?: number } = {}): Promise<DeadLetter[]> {
    return this.call('deadLetters', opts);
  }
  sequences(gateway: string, from?: number, to?: number): Promise<number[]> {
    return this.call('sequences', gateway, from, to);
  }
  applyRetention(now?: number): Promise<RetentionResult> {
    return this.call('applyRetention', now);
  }
  /** SqliteStore.compact on the store's thread. */
  compact(now?: number): Promise<number> {
    return this.call('compact', now);
  }

  async close(): Promise<void> {
    if (this.s.closed) return;
    const worker = this.s.worker ?? (this.s.starting ? await this.s.starting.catch(() => undefined) : undefined);
    if (worker) await this.call('close').catch(() => undefined);
    this.s.closed = true;
    await worker?.terminate();
  }
}
