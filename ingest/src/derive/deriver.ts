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

/**
 * Derived values computed on the stream, per source device and hour (ts = start of the hour), rewritten
 * in place (the store key is (kind, device, ts)) each time a batch touches that hour, so the running hour
 * always has a current value. State is rebuilt from the stored raw readings on start (restore()).
 */
export class Deriver {
  private readonly state = new Map<string, DeviceHours>();
  private calls = 0;
  private devices: Map<string, Device>;

  constructor(
    private readonly limits: Limits,
    private city: CityModel,
  ) {
    this.devices = new Map(city.devices.map((d) => [d.id, d]));
  }

  /** Follows a registry update: derived rows take the devices' new tags; hourly state of kept devices stays. */
  setCity(city: CityModel): void {
    this.city = city;
    this.devices = new Map(city.devices.map((d) => [d.id, d]));
  }

  /** Feeds raw readings; returns the derived readings of every (device, hour) they changed. */
  ingest(readings: StoredReading[]): StoredReading[] {
    // Each (device, hour) bucket a reading landed in, once: the bucket remembers the call that last marked it
    // (a number compare per reading instead of a map and a set).
    const call = ++this.calls;
    const dirtyDevices: string[] = [];
    const dirtyHours: number[] = [];
    for (const r of readings) {
      const bucket = this.add(r);
      if (bucket && bucket.markedIn !== call) {
        bucket.markedIn = call;
        dirtyDevices.push(r.device);
        dirtyHours.push(hourOf(r.ts));
      }
    }
    const out: StoredReading[] = [];
    for (let i = 0; i < dirtyDevices.length; i++) {
      const device = this.devices.get(dirtyDevices[i]!);
      if (!device) continue;
      const d = this.compute(device, dirtyHours[i]!);
      if (d) out.push(d);
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
      for (const [ts, values] of [...byTs].sort((a, b) => a[0] - b[0])) {
        if (this.add({ kind, device, gateway: d.gateway, ward: d.ward, ts, seq: 0, values })) restored++;
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
