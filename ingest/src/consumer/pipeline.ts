import type { DeadLetter, StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { backoffDelay, type Logger } from '@tamky/service-kit';
import type { Ack } from './deferred-acks';

/** One admitted MQTT message, validated, waiting to become durable. */
export interface PendingMessage {
  readings: StoredReading[];
  deadLetters: DeadLetter[];
  ack: Ack;
  receivedAt: number;
  /** Field values in `readings` and their newest ts (-Infinity when none), counted at validation for the metrics. */
  values: number;
  newestTs: number;
}

export interface DurableBatch {
  raw: StoredReading[];
  derived: StoredReading[];
  messages: PendingMessage[];
  writeMs: number;
}

export interface PipelineOptions {
  store: TimeSeriesStore;
  maxReadings: number;
  maxDelayMs: number;
  /**
   * Flush early once no message has arrived for this long (0: off). At low load a message then waits a few
   * ms, not `maxDelayMs`; under load messages keep arriving and batches still fill to `maxReadings`. It also
   * keeps batches going when the broker caps the messages it leaves unacked with ingest below a batch.
   */
  idleMs?: number;
  /** Batches written at the same time (≥ 1). Overlaps a server store's round trips; see BatchPipeline. */
  maxInFlight?: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * How long close() waits for writes already sent to the store (default 10 s). A store call that never
   * answers must not hold shutdown forever; what it carried stays unacked and the broker redelivers it.
   */
  closeWaitMs?: number;
  log: Logger;
  /**
   * Derived readings to write with these raw readings (the deriver may hold changes back to coalesce them).
   * `all`: the last batch before close, so everything held back.
   */
  derive(raw: StoredReading[], all: boolean): StoredReading[];
  /** Ms until derived readings held back are due (≤ 0: now), undefined when none are: a batch goes for them alone. */
  derivedDueIn?(): number | undefined;
  /** After the batch is durable: ack, live feed, observers. Errors are logged, never retried. */
  onDurable(batch: DurableBatch): Promise<void>;
  onWriteFailure(err: unknown, attempt: number): void;
}

/**
 * Collects validated messages and writes them in batches: a batch goes when `maxReadings` readings wait,
 * the oldest has waited `maxDelayMs`, or nothing new has arrived for `idleMs`. Up to `maxInFlight` batches are written at once; while they run
 * the next batch grows, so batches get bigger exactly when the store is the bottleneck. A failed write is
 * retried with backoff and nothing of it is acknowledged meanwhile (what ingest holds is bounded by the
 * admission gate).
 *
 * With several batches in flight, what must stay in order does: raw readings are facts fixed at the edge
 * (a key rewritten by a later batch carries the same values), so they go concurrently; derived readings
 * are rewritten in place each batch (the running hour), so a batch writes its derived rows only after the
 * previous batch is completely done, and calls `onDurable` (acks, live feed, observers) in batch order.
 * A store that applies writes in call order (`writesInCallOrder`: SQLite, whose worker thread must never
 * wait for a separate derived write) takes raw and derived rows in one write even with batches in flight.
 */
export class BatchPipeline {
  private pending: PendingMessage[] = [];
  private pendingReadings = 0;
  private wake: (() => void) | undefined;
  private readonly retryWakes = new Set<() => void>();
  private closing = false;
  private inFlight = 0;
  private failed = false;
  /** Settles when the newest batch started is completely done (written, onDurable returned) or given up. */
  private previous: Promise<void> = Promise.resolve();
  private readonly done: Promise<void>;
  private batchesStarted = 0;
  private lastPushAt = 0;
  /** Stores writing in call order: derived row key → the newest batch that has sent it to the store. */
  private readonly derivedSentBy = new Map<string, number>();

  constructor(private readonly opts: PipelineOptions) {
    this.done = this.run();
  }

  push(message: PendingMessage): void {
    this.lastPushAt = Date.now();
    this.pending.push(message);
    this.pendingReadings += message.readings.length;
    if (this.pendingReadings >= this.opts.maxReadings || this.pending.length === 1) this.signal();
  }

  waiting(): { messages: number; readings: number } {
    return { messages: this.pending.length, readings: this.pendingReadings };
  }

  /** Writes what is pending once (no retries), then stops. Unwritten messages stay unacked: the broker redelivers them. */
  async close(): Promise<void> {
    this.closing = true;
    this.signal();
    for (const wake of this.retryWakes) wake();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), this.opts.closeWaitMs ?? 10_000)));
    const stuck = await Promise.race([this.done.then(() => false), gaveUp]);
    clearTimeout(timer);
    if (stuck)
      this.opts.log.error(
        { inFlight: this.inFlight, waitedMs: this.opts.closeWaitMs ?? 10_000 },
        'store writes still unanswered at close; their messages stay unacked and the broker redelivers them',
      );
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const maxInFlight = Math.max(1, this.opts.maxInFlight ?? 1);
    for (;;) {
      if (this.failed) break;
      if (this.pending.length === 0) {
        // No messages: a batch of derived rows alone when some are due (or held back at close).
        const due = this.opts.derivedDueIn?.();
        if (due === undefined || (due > 0 && !this.closing)) {
          if (this.closing) break;
          await this.sleep(Math.min(60_000, Math.max(1, due ?? 60_000)));
          continue;
        }
      }
      if (this.inFlight >= maxInFlight) {
        await this.sleep(60_000);
        continue;
      }
      if (this.pending.length > 0) {
        const now = Date.now();
        const untilDeadline = this.opts.maxDelayMs - (now - this.pending[0]!.receivedAt);
        const idleMs = this.opts.idleMs ?? 0;
        const untilIdle = idleMs > 0 ? idleMs - (now - this.lastPushAt) : Infinity;
        if (!this.closing && this.pendingReadings < this.opts.maxReadings && untilDeadline > 0 && untilIdle > 0) {
          await this.sleep(Math.min(untilDeadline, untilIdle));
          continue;
        }
      }
      this.start(this.take());
    }
    await this.previous;
  }

  private take(): PendingMessage[] {
    let n = 0;
    let readings = 0;
    while (n < this.pending.length && (n === 0 || readings < this.opts.maxReadings)) {
      readings += this.pending[n]!.readings.length;
      n++;
    }
    this.pendingReadings -= readings;
    return this.pending.splice(0, n);
  }

  private start(messages: PendingMessage[]): void {
    const raw: StoredReading[] = [];
    const letters: DeadLetter[] = [];
    for (const m of messages) {
      for (const r of m.readings) raw.push(r);
      for (const l of m.deadLetters) letters.push(l);
    }
    // Derived in batch order, here, whatever order the writes finish in.
    let derived: StoredReading[] = [];
    try {
      derived = this.opts.derive(raw, this.closing && this.pending.length === 0);
    } catch (err) {
      // A bug in a derivation must not stop raw data: store the raw readings, log loudly.
      this.opts.log.error({ err }, 'deriving values failed; raw readings are stored without them');
    }
    const after = this.previous;
    this.inFlight++;
    const job = this.writeUntilDurable(this.batchesStarted++, messages, raw, derived, letters, after).then(
      (ok) => {
        if (!ok) this.failed = true;
      },
      (err) => {
        this.failed = true;
        this.opts.log.error({ err }, 'batch write crashed');
      },
    );
    this.previous = job.finally(() => {
      this.inFlight--;
      this.signal();
    });
  }

  /** Runs `write` until it succeeds (true) or the pipeline closes while it fails (false). */
  private async retrying(write: () => Promise<void>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        return true;
      } catch (err) {
        this.opts.onWriteFailure(err, attempt);
        if (this.closing) return false;
        // Only close() cuts the backoff short: new messages arriving must not turn retries into a hot loop.
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(
            () => {
              this.retryWakes.delete(wake);
              resolve();
            },
            backoffDelay(attempt, this.opts.retryBaseMs, this.opts.retryMaxMs),
          );
          this.retryWakes.add(wake);
        });
        if (this.closing) return false;
      }
    }
  }

  private async writeUntilDurable(
    batchNo: number,
    messages: PendingMessage[],
    raw: StoredReading[],
    derived: StoredReading[],
    letters: DeadLetter[],
    after: Promise<void>,
  ): Promise<boolean> {
    const started = performance.now();
    const { store } = this.opts;
    const ordered = store.writesInCallOrder === true;
    let derivedWritten = derived.length === 0;
    const ok = await this.retrying(async () => {
      // Raw and derived go in one write when nothing ahead of this batch is still in flight, or when the
      // store applies writes in call order anyway. Then only a retry can land after a later batch's write:
      // it leaves out the derived rows a later batch has already sent, whose values are newer.
      const withDerived = !derivedWritten && (this.inFlight === 1 || ordered);
      let rows = raw;
      if (withDerived) {
        const derivedRows =
          this.derivedSentBy.size > 0 ? derived.filter((d) => (this.derivedSentBy.get(derivedKey(d)) ?? -1) <= batchNo) : derived;
        // Claimed when sent, not when durable: in call order, whatever is sent later lands later.
        if (ordered) for (const d of derivedRows) this.derivedSentBy.set(derivedKey(d), batchNo);
        rows = raw.concat(derivedRows);
      }
      if (rows.length > 0) await store.writeBatch(rows);
      if (letters.length > 0) await store.writeDeadLetters(letters);
      if (withDerived) derivedWritten = true;
    });
    if (!ok) return false;
    await after;
    if (!derivedWritten && !(await this.retrying(() => store.writeBatch(derived)))) return false;
    // Every batch up to this one is complete: entries only later batches' retries could need stay.
    for (const [key, by] of this.derivedSentBy) if (by <= batchNo + 1) this.derivedSentBy.delete(key);
    try {
      await this.opts.onDurable({ raw, derived, messages, writeMs: performance.now() - started });
    } catch (err) {
      this.opts.log.error({ err }, 'after-write step failed');
    }
    return true;
  }
}

const derivedKey = (r: StoredReading): string => `${r.kind}\0${r.device}\0${r.ts}`;
