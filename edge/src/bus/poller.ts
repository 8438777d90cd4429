import { backoffDelay } from '@tamky/service-kit';
import type { FieldDevice, PollOutcome, ReadingValues } from '../devices/types';

export interface PollerSinks {
  onReading(deviceId: string, ts: number, values: ReadingValues): void;
  onEvent(deviceId: string, type: string, detail: Record<string, unknown>): void;
}

/** After this many failed polls in a row the device is reported offline (an event, never dropped). */
const OFFLINE_AFTER = 3;

/** Polls are scheduled on a clock that never steps: a wall clock set back an hour must not pause them for an hour. */
const mono = () => performance.now();

/**
 * Polls one device on its own clock. A device that does not answer is backed off (exponential with
 * jitter, at least one poll interval, at most `maxBackoffMs`) and simply skipped meanwhile, so a dead
 * slave costs the bus one timeout per backoff period instead of one per poll, and never holds back
 * the other devices' polls. A poll still queued or in flight is never doubled up.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private nextDue = 0;
  private offline = false;
  /** When a backoff ends, on the monotonic clock (stats.backoffUntil reports it on the wall clock). */
  private backoffEnds: number | null = null;

  constructor(
    readonly device: FieldDevice,
    private readonly sinks: PollerSinks,
    private readonly opts: { maxBackoffMs: number; now: () => number },
  ) {}

  get intervalMs(): number {
    return this.device.stats.pollIntervalMs;
  }

  start(): void {
    // Spread the first polls so that devices on one bus do not all queue at the same instant.
    const first = Math.floor(Math.random() * Math.min(this.intervalMs, 1000));
    this.nextDue = mono() + first;
    this.arm();
  }

  setInterval(ms: number): void {
    this.device.stats.pollIntervalMs = ms;
    this.nextDue = mono() + ms;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** read_now: polls immediately, ahead of queued polls, even while backed off. */
  async readNow(): Promise<PollOutcome> {
    const outcome = await this.device.poll(true);
    this.record(outcome);
    return outcome;
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.nextDue - mono()));
  }

  private tick(): void {
    if (this.stopped) return;
    const at = mono();
    this.nextDue += this.intervalMs;
    if (this.nextDue <= at) this.nextDue = at + this.intervalMs;
    this.arm();
    const stats = this.device.stats;
    if (this.backoffEnds !== null && stats.backoffUntil !== null && at < this.backoffEnds) {
      stats.skippedWhileBackedOff++;
      return;
    }
    if (this.busy) return;
    this.busy = true;
    this.device
      .poll(false)
      .then((o) => this.record(o))
      .catch((err: Error) => this.record({ ok: false, kind: 'closed', message: err.message, ts: this.opts.now() }))
      .finally(() => {
        this.busy = false;
      });
  }

  private record(o: PollOutcome): void {
    if (this.stopped) return;
    const stats = this.device.stats;
    if (o.ok) {
      stats.success(o.ts);
      this.backoffEnds = null;
      if (this.offline) {
        this.offline = false;
        this.sinks.onEvent(this.device.id, 'device_online', {});
      }
      for (const e of o.events ?? []) this.sinks.onEvent(this.device.id, e.type, e.detail);
      if (Object.keys(o.values).length > 0) this.sinks.onReading(this.device.id, o.ts, o.values);
      return;
    }
    stats.failure(o.kind, o.message, o.ts);
    // An exception: the slave answered, alive. Closed: the port is down and reopening on its own; the
    // devices behind it are not to blame and must be polled as soon as it is back.
    if (o.kind === 'exception' || o.kind === 'closed') return;
    stats.consecutiveFailures++;
    if (!o.noBackoff) {
      const delay = Math.max(this.intervalMs, backoffDelay(stats.consecutiveFailures, this.intervalMs, this.opts.maxBackoffMs));
      stats.backoffUntil = this.opts.now() + delay;
      this.backoffEnds = mono() + delay;
    }
    if (!this.offline && stats.consecutiveFailures >= OFFLINE_AFTER) {
      this.offline = true;
      this.sinks.onEvent(this.device.id, 'device_offline', { error: stats.lastError, failures: stats.consecutiveFailures });
    }
  }
}
