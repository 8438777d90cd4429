export const HOUR_MS = 3_600_000;

/** Start of the hour containing `ts`. Hours are UTC-aligned, which are local hours in whole-hour zones (Asia/Ho_Chi_Minh is UTC+7). */
export const hourOf = (ts: number) => Math.floor(ts / HOUR_MS) * HOUR_MS;

export interface FieldAcc {
  sum: number;
  n: number;
  /** Σ 10^(L/10), for energy-averaged sound levels. */
  energy: number;
  firstTs: number;
  first: number;
  lastTs: number;
  last: number;
}

/**
 * Running aggregates of one device over one hour. `seen` keys readings by timestamp (its ms within the hour) so a redelivered
 * reading (or one already restored from the store) is counted once: the same rule as the store's key.
 */
export class HourBucket {
  readonly seen = new Set<number>();
  readonly fields = new Map<string, FieldAcc>();
  /** Free-form extra sums a derivation keeps per hour (e.g. congestion index). */
  readonly extra = new Map<string, { sum: number; n: number }>();
  /** The Deriver's queue entry while this bucket has changes not yet recomputed (coalescing), else undefined. */
  pending: object | undefined = undefined;

  /** Counts a reading once; only the fields in `only` (when given) are accumulated: the others no derivation reads. */
  add(ts: number, values: Record<string, number>, withEnergy: boolean, only?: ReadonlySet<string>): boolean {
    // Keyed by the ms within the hour: a small integer, where an epoch ms is a boxed double in the set.
    const offset = ts % HOUR_MS;
    if (this.seen.has(offset)) return false;
    this.seen.add(offset);
    // for…in, not Object.entries: no array per reading and per field on the hot path.
    for (const field in values) {
      if (only !== undefined && !only.has(field)) continue;
      const v = values[field]!;
      let acc = this.fields.get(field);
      if (!acc) {
        acc = { sum: 0, n: 0, energy: 0, firstTs: ts, first: v, lastTs: ts, last: v };
        this.fields.set(field, acc);
      }
      acc.sum += v;
      acc.n++;
      if (withEnergy) acc.energy += 10 ** (v / 10);
      if (ts < acc.firstTs) {
        acc.firstTs = ts;
        acc.first = v;
      }
      if (ts >= acc.lastTs) {
        acc.lastTs = ts;
        acc.last = v;
      }
    }
    return true;
  }

  addExtra(name: string, v: number): void {
    const e = this.extra.get(name) ?? { sum: 0, n: 0 };
    e.sum += v;
    e.n++;
    this.extra.set(name, e);
  }

  mean(field: string): number | undefined {
    const acc = this.fields.get(field);
    return acc && acc.n > 0 ? acc.sum / acc.n : undefined;
  }

  sum(field: string): number | undefined {
    return this.fields.get(field)?.sum;
  }
}

const NONE: Array<[number, HourBucket]> = [];

/** Per-device hour buckets, keeping `keepHours` hours behind the newest one seen. */
export class DeviceHours {
  private readonly hours = new Map<number, HourBucket>();
  private newest = -Infinity;
  /** The bucket asked for last: a device's readings arrive hour after hour, so this is nearly always the one. */
  private lastHour = NaN;
  private lastBucket: HourBucket | undefined;

  constructor(private readonly keepHours: number) {}

  /** Buckets that a reading at `ts` would push out of the retained window (none unless `ts` starts a newer hour). */
  wouldDrop(ts: number): Array<[number, HourBucket]> {
    const hour = hourOf(ts);
    if (hour <= this.newest) return NONE;
    const out: Array<[number, HourBucket]> = [];
    for (const [h, b] of this.hours) if (h < hour - this.keepHours * HOUR_MS) out.push([h, b]);
    return out;
  }

  /** The bucket for `ts`, or undefined when that hour is older than the retained window. */
  bucketFor(ts: number): HourBucket | undefined {
    const hour = hourOf(ts);
    if (hour > this.newest) {
      this.newest = hour;
      for (const h of this.hours.keys()) if (h < this.newest - this.keepHours * HOUR_MS) this.hours.delete(h);
    }
    if (hour < this.newest - this.keepHours * HOUR_MS) return undefined;
    // After the window check: a remembered bucket of an hour that fell out of the window is never handed out.
    if (hour === this.lastHour) return this.lastBucket;
    let b = this.hours.get(hour);
    if (!b) {
      b = new HourBucket();
      this.hours.set(hour, b);
    }
    this.lastHour = hour;
    this.lastBucket = b;
    return b;
  }

  get(hour: number): HourBucket | undefined {
    return this.hours.get(hour);
  }

  entries(): IterableIterator<[number, HourBucket]> {
    return this.hours.entries();
  }
}
