import type { DeadLetter, StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { backoffDelay, type Logger } from '@tamky/service-kit';
import type { Ack } from './deferred-acks';

/** One admitted MQTT message, validated, waiting to become durable. */
export interface PendingMessage {
  readings: StoredReading[];
  deadLetters: DeadLetter[];
  ack: Ack;
  receivedAt: number;
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
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
  /** Derived readings for raw readings about to be written (written in the same batch). */
  derive(raw: StoredReading[]): StoredReading[];
  /** After the batch is durable: ack, live feed, observers. Errors are logged, never retried. */
  onDurable(batch: DurableBatch): Promise<void>;
  onWriteFailure(err: unknown, attempt: number): void;
}

/**
 * Collects validated messages and writes them in batches: a batch goes when `maxReadings` readings wait
 * or the oldest has waited `maxDelayMs`. One write runs at a time; while it runs the next batch grows,
 * so batches get bigger exactly when the store is the bottleneck. A failed write is retried with backoff
 * and nothing of it is acknowledged meanwhile (what ingest holds is bounded by the admission gate).
 */
export class BatchPipeline {
  private pending: PendingMessage[] = [];
  private pendingReadings = 0;
  private wake: (() => void) | undefined;
  private retryWake: (() => void) | undefined;
  private closing = false;
  private readonly done: Promise<void>;

  constructor(private readonly opts: PipelineOptions) {
    this.done = this.run();
  }

  push(message: PendingMessage): void {
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
    this.retryWake?.();
    await this.done;
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
    for (;;) {
      if (this.pending.length === 0) {
        if (this.closing) return;
        await this.sleep(60_000);
        continue;
      }
      const age = Date.now() - this.pending[0]!.receivedAt;
      if (!this.closing && this.pendingReadings < this.opts.maxReadings && age < this.opts.maxDelayMs) {
        await this.sleep(this.opts.maxDelayMs - age);
        continue;
      }
      const batch = this.take();
      const ok = await this.writeUntilDurable(batch);
      if (!ok) return;
    }
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

  private async writeUntilDurable(messages: PendingMessage[]): Promise<boolean> {
    const raw: StoredReading[] = [];
    const letters: DeadLetter[] = [];
    for (const m of messages) {
      for (const r of m.readings) raw.push(r);
      for (const l of m.deadLetters) letters.push(l);
    }
    let derived: StoredReading[] = [];
    try {
      derived = this.opts.derive(raw);
    } catch (err) {
      // A bug in a derivation must not stop raw data: store the raw readings, log loudly.
      this.opts.log.error({ err }, 'deriving values failed; raw readings are stored without them');
    }
    const rows = derived.length > 0 ? raw.concat(derived) : raw;
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        if (rows.length > 0) await this.opts.store.writeBatch(rows);
        if (letters.length > 0) await this.opts.store.writeDeadLetters(letters);
        const writeMs = performance.now() - started;
        try {
          await this.opts.onDurable({ raw, derived, messages, writeMs });
        } catch (err) {
          this.opts.log.error({ err }, 'after-write step failed');
        }
        return true;
      } catch (err) {
        this.opts.onWriteFailure(err, attempt);
        if (this.closing) return false;
        // Only close() cuts the backoff short: new messages arriving must not turn retries into a hot loop.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffDelay(attempt, this.opts.retryBaseMs, this.opts.retryMaxMs));
          this.retryWake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.retryWake = undefined;
        if (this.closing) return false;
      }
    }
  }
}
