import type { CityModel, Device, Limits, StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { DERIVED_SEQ } from '@tamky/protocol';
import { createSimDevice, type SimDevice } from '@tamky/firmware-sim';
import { DEFAULT_PROFILES_DIR, decodeRead, deviceBlocks, planReads, profileLoader } from '@tamky/edge';
import { Deriver } from '@tamky/ingest';

export interface BackfillOptions {
  city: CityModel;
  store: TimeSeriesStore;
  limits: Limits;
  /** How far back the history reaches (default 7 days). */
  days?: number;
  /** One reading per device every stepMs of history (default 5 min: the 24 h chart's finest window). */
  stepMs?: number;
  now?: number;
  /** Readings per store batch. */
  batchSize?: number;
}

export interface BackfillResult {
  /** False when the store already held readings: a restart never rewrites history. */
  done: boolean;
  raw: number;
  derived: number;
  ms: number;
}

/**
 * A simulated device as its gateway would read it: the profile's read plan, decoded the same way; `sim` takes faults.
 * `stepMs` is the time between reads.
 */
export function simulatedDevice(
  device: Device,
  city: CityModel,
  clock: { t: number },
  profileOf: ReturnType<typeof profileLoader>,
  stepMs: number,
): { sim: SimDevice; read(t: number): Record<string, number> } {
  const profile = profileOf(device.kind);
  const overrides = device.kind === 'water_level' && device.mountingHeightM ? { level: { offset: device.mountingHeightM } } : undefined;
  const blocks = deviceBlocks(profile, overrides);
  const plan = planReads(blocks, profile.maxGap);
  const publish = new Set(blocks.flatMap((b) => b.fields.filter((f) => f.publish).map((f) => f.name)));
  const sim = createSimDevice(device, { city: { lat: city.lat, lon: city.lon, timeZone: city.timeZone }, now: () => clock.t });
  // A loop counter latches one interval's totals: one interval per history step, so hourly sums stay true.
  if (device.kind === 'traffic_counter') sim.write('holding', 0, [Math.round(stepMs / 1000)]);
  const read = (t: number): Record<string, number> => {
    sim.update(t);
    const values: Record<string, number> = {};
    for (const r of plan) {
      const data = sim.read(r.table, r.address, r.count);
      if (typeof data === 'number') continue;
      for (const [name, { v }] of Object.entries(decodeRead(r, data))) if (publish.has(name)) values[name] = v;
    }
    return values;
  };
  return { sim, read };
}

/**
 * On the demo's first start, the week before now as the simulated city would have reported it (the same
 * signal models, register maps and decoding as the live path), written in batches straight to the store
 * with the hourly derived values ingest would have computed: the 24 h and 7 d charts are full at once.
 * History rows carry DERIVED_SEQ: they never came from a gateway, so loss checking leaves them out.
 */
export async function backfillHistory(opts: BackfillOptions): Promise<BackfillResult> {
  const started = Date.now();
  if ((await opts.store.latest()).length > 0) return { done: false, raw: 0, derived: 0, ms: Date.now() - started };
  const stepMs = opts.stepMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now();
  const from = Math.floor((now - (opts.days ?? 7) * 86_400_000) / stepMs) * stepMs;
  const batchSize = opts.batchSize ?? 5000;
  const clock = { t: from };
  const profileOf = profileLoader(DEFAULT_PROFILES_DIR);
  const devices = opts.city.devices.map((d) => ({ device: d, read: simulatedDevice(d, opts.city, clock, profileOf, stepMs).read }));
  const deriver = new Deriver(opts.limits, opts.city);
  let batch: StoredReading[] = [];
  let raw = 0;
  let derived = 0;
  const flush = async () => {
    const rows = batch;
    batch = [];
    const hourly = deriver.ingest(rows);
    derived += hourly.length;
    await opts.store.writeBatch([...rows, ...hourly]);
  };
  for (let t = from; t < now; t += stepMs) {
    clock.t = t;
    for (const { device, read } of devices) {
      const values = read(t);
      if (Object.keys(values).length === 0) continue;
      batch.push({ kind: device.kind, device: device.id, gateway: device.gateway, ward: device.ward, ts: t, seq: DERIVED_SEQ, values });
      raw++;
    }
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length) await flush();
  return { done: true, raw, derived, ms: Date.now() - started };
}
