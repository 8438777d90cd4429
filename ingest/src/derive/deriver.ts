import {
  DERIVED_SEQ,
  type CityModel,
  type DerivedKind,
  type Device,
  type Series,
  type StoredReading,
  type TimeSeriesStore,
} from '@tamky/protocol';
import { backoffDelay } from '@tamky/service-kit';
import { airQualityValues } from './air';
import { DeviceHours, HOUR_MS, hourOf, type HourBucket } from './hour-buckets';
import { lightingValues } from './lighting';
import type { Limits } from '@tamky/protocol';
import { noiseValues } from './noise';
import { congestionIndex, trafficValues } from './traffic';

const SOURCE: Record<string, { derived: DerivedKind; keepHours: number; fields?: string[] }> = {
  air_station: { derived: 'vn_aqi', keepHours: 12, fields: ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co'] },
  pm_sensor: { derived: 'vn_aqi', keepHours: 12, fields: ['pm25', 'pm10'] },
  noise_meter: { derived: 'noise_hourly', keepHours: 2, fields: ['laeq'] },
  traffic_counter: { derived: 'congestion', keepHours: 2 },
  street_light: { derived: 'lighting_energy', keepHours: 2, fields: ['energy', 'power'] },
};

/**
 * The fields each derivation reads (and restores from the store): the rest of a reading is not accumulated
 * (a street light's 16 lamp fields, an air station's temperature and humidity).
 */
const NEEDED: Record<string, ReadonlySet<string>> = Object.fromEntries(
  Object.entries(SOURCE).map(([kind, spec]) => [kind, new Set(spec.fields ?? sourceFields(kind))]),
);

function sourceFields(kind: string): string[] {
  if (kind !== 'traffic_counter') return [];
  const f: string[] = [];
  for (let lane = 1; lane <= 4; lane++)
    for (const x of ['motorbike', 'car', 'bus', 'truck', 'speed', 'occupancy']) f.push(`lane${lane}_${x}`);
  return f;
}

export interface RestoreOptions {
  /** Only these devices (a retry of what an earlier restore could not read). */
  devices?: string[];
  chunkDevices?: number;
  attempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Epoch ms after which no more queries are started: the rest is reported unrestored (a dead store must not hold up the start). */
  deadline?: number;
  onError?(err: unknown, what: { kind: string; devices: number; attempt: number }): void;
}

export interface RestoreResult {
  /** Readings put back into the hourly state. */
  restored: number;
  /** Devices whose history could not be read (the store kept failing): retry them later. */
  unrestored: string[];
}

export interface DeriverOptions {
  /**
   * Recompute a changed (device, hour) at most once per this many ms (0: in every ingest call that changed
   * it). Readings in between only update the running sums; the recompute covers all of them.
   */
  coalesceMs?: number;
  /** Monotonic clock for coalescing (not the readings' time). */
  clock?: () => number;
}

/** A (device, hour) with readings counted since its derived value was last computed. */
interface PendingHour {
  device: string;
  hour: number;
  bucket: HourBucket;
  dueAt: number;
}

/**
 * Derived values computed on the stream, per source device and hour (ts = start of the hour), rewritten
 * in place (the store key is (kind, device, ts)) as readings reach that hour, so the running hour always has
 * a current value. With `coalesceMs`, a changed hour is recomputed once when its time comes (or when the
 * hour is about to leave the retained window), not per reading: the value written is the same, only later.
 * State is rebuilt from the stored raw readings on start (restore()); with coalescing every restored hour is
 * then recomputed once, since a crash may have lost values computed but not yet written.
 */
export class Deriver {
  private readonly state = new Map<string, DeviceHours>();
  private devices: Map<string, Device>;
  private readonly coalesceMs: number;
  private readonly clock: () => number;
  /** Changed hours in the order they first changed (so by due time); entries whose bucket moved on are skipped. */
  private queue: PendingHour[] = [];
  private head = 0;
  /** Values computed early (their hour was leaving the window), handed out with the next ingest. */
  private ready: StoredReading[] = [];

  constructor(
    private readonly limits: Limits,
    private city: CityModel,
    opts: DeriverOptions = {},
  ) {
    this.devices = new Map(city.devices.map((d) => [d.id, d]));
    this.coalesceMs = opts.coalesceMs ?? 0;
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** Follows a registry update: derived rows take the devices' new tags; hourly state of kept devices stays. */
  setCity(city: CityModel): void {
    this.city = city;
    this.devices = new Map(city.devices.map((d) => [d.id, d]));
  }

  /**
   * Feeds raw readings; returns the derived readings of the (device, hour)s whose recompute is due (without
   * coalescing: every one they changed). `all`: every changed hour now, due or not (the last batch at close).
   */
  ingest(readings: StoredReading[], all = false): StoredReading[] {
    const now = this.coalesceMs > 0 ? this.clock() : 0;
    for (const r of readings) {
      const bucket = this.add(r);
      if (bucket) this.markChanged(r.device, hourOf(r.ts), bucket, now);
    }
    return this.take(all || this.coalesceMs === 0 ? Infinity : now);
  }

  /** Ms until the next changed hour is due (≤ 0: now), undefined when none is waiting. */
  nextDueIn(): number | undefined {
    if (this.ready.length > 0) return 0;
    this.skipSettled();
    const next = this.queue[this.head];
    return next ? next.dueAt - this.clock() : undefined;
  }

  private markChanged(device: string, hour: number, bucket: HourBucket, now: number): void {
    if (bucket.pending) return;
    const entry: PendingHour = { device, hour, bucket, dueAt: now + this.coalesceMs };
    bucket.pending = entry;
    this.queue.push(entry);
  }

  private skipSettled(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.bucket.pending !== this.queue[this.head]) this.head++;
  }

  /** Computes the changed hours due by `until`, oldest change first. */
  private take(until: number): StoredReading[] {
    const out = this.ready;
    this.ready = [];
    for (;;) {
      this.skipSettled();
      const e = this.queue[this.head];
      if (!e || e.dueAt > until) break;
      this.head++;
      e.bucket.pending = undefined;
      const device = this.devices.get(e.device);
      const d = device && this.compute(device, e.hour);
      if (d) out.push(d);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /**
   * Rebuilds the hourly state from raw readings in the store (the derived rows there stay as written).
   * Devices are read a chunk at a time, each chunk retried with backoff: at city scale one query for
   * every device of a kind timed out on a loaded InfluxDB and stopped ingest from starting. A chunk that
   * still fails is reported in `unrestored`, never thrown: raw readings must flow regardless, and the
   * caller retries those devices later (state restored late still counts: buckets key readings by ts).
   */
  async restore(store: TimeSeriesStore, now: number, opts: RestoreOptions = {}): Promise<RestoreResult> {
    const chunkSize = opts.chunkDevices ?? 200;
    const attempts = opts.attempts ?? 4;
    const only = opts.devices ? new Set(opts.devices) : undefined;
    let restored = 0;
    const unrestored: string[] = [];
    for (const [kind, spec] of Object.entries(SOURCE)) {
      const devices = this.city.devices.filter((d) => d.kind === kind && (!only || only.has(d.id)));
      const fields = spec.fields ?? sourceFields(kind);
      const from = hourOf(now) - spec.keepHours * HOUR_MS;
      for (let i = 0; i < devices.length; i += chunkSize) {
        const chunk = devices.slice(i, i + chunkSize).map((d) => d.id);
        let series: Series[] | undefined;
        for (let attempt = 0; attempt < attempts && !series && !(opts.deadline !== undefined && Date.now() > opts.deadline); attempt++) {
          try {
            series = await store.query({ kind, fields, from, to: now + HOUR_MS, devices: chunk });
          } catch (err) {
            opts.onError?.(err, { kind, devices: chunk.length, attempt });
            if (attempt + 1 < attempts)
              await new Promise((r) => setTimeout(r, backoffDelay(attempt, opts.retryBaseMs ?? 500, opts.retryMaxMs ?? 10_000)));
          }
        }
        if (series) restored += this.addRestored(kind, series);
        else unrestored.push(...chunk);
      }
    }
    return { restored, unrestored };
  }

  private addRestored(kind: string, series: Series[]): number {
    let restored = 0;
    const byDeviceTs = new Map<string, Map<number, Record<string, number>>>();
    for (const s of series) {
      let byTs = byDeviceTs.get(s.device);
      if (!byTs) byDeviceTs.set(s.device, (byTs = new Map()));
      for (const [ts, v] of s.points) {
        const values = byTs.get(ts) ?? {};
        values[s.field] = v;
        byTs.set(ts, values);
      }
    }
    for (const [device, byTs] of byDeviceTs) {
      const d = this.devices.get(device);
      if (!d) continue;
      const now = this.clock();
      for (const [ts, values] of [...byTs].sort((a, b) => a[0] - b[0])) {
        const bucket = this.add({ kind, device, gateway: d.gateway, ward: d.ward, ts, seq: 0, values });
        if (!bucket) continue;
        restored++;
        if (this.coalesceMs > 0) this.markChanged(device, hourOf(ts), bucket, now);
      }
    }
    return restored;
  }

  /** The bucket the reading was counted in; undefined when it was not (no derivation, too old, already counted). */
  private add(r: StoredReading): HourBucket | undefined {
    const spec = SOURCE[r.kind];
    if (!spec) return undefined;
    let hours = this.state.get(r.device);
    if (!hours) this.state.set(r.device, (hours = new DeviceHours(spec.keepHours)));
    // A newer hour pushes the oldest out of the window: compute what they still owe first (coalescing).
    for (const [hour, old] of hours.wouldDrop(r.ts)) {
      if (!old.pending) continue;
      old.pending = undefined;
      const device = this.devices.get(r.device);
      const d = device && this.compute(device, hour);
      if (d) this.ready.push(d);
    }
    const bucket = hours.bucketFor(r.ts);
    if (!bucket) return undefined;
    if (!bucket.add(r.ts, r.values, r.kind === 'noise_meter', NEEDED[r.kind])) return undefined;
    if (r.kind === 'traffic_counter') {
      const idx = congestionIndex(this.limits.congestion, r.values);
      if (idx !== undefined) bucket.addExtra('congestion', idx);
    }
    return bucket;
  }

  private compute(device: Device, hour: number): StoredReading | undefined {
    const spec = SOURCE[device.kind];
    const hours = this.state.get(device.id);
    const bucket = hours?.get(hour);
    if (!spec || !hours || !bucket) return undefined;
    let values: Record<string, number> | undefined;
    switch (spec.derived) {
      case 'vn_aqi':
        values = airQualityValues(this.limits.vnAqi, hours, hour);
        break;
      case 'noise_hourly':
        values = noiseValues(this.limits.noise, bucket, hour, device.zone, this.city.timeZone);
        break;
      case 'congestion':
        values = trafficValues(this.limits.congestion, bucket);
        break;
      case 'lighting_energy':
        values = lightingValues(bucket, hours.get(hour - HOUR_MS));
        break;
    }
    if (!values) return undefined;
    return { kind: spec.derived, device: device.id, gateway: device.gateway, ward: device.ward, ts: hour, seq: DERIVED_SEQ, values };
  }
}
