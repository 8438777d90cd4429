import { describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { Deriver, loadLimits } from '../src/index';
import { LIMITS_DIR, sqliteStore, testCity } from './helpers/fixtures';

const limits = loadLimits(LIMITS_DIR);
const H = 3_600_000;
const T0 = Date.UTC(2025, 5, 1, 5);
const key = (d: StoredReading) => `${d.kind}|${d.device}|${d.ts}`;

/** A deterministic pseudo-random source (the same stream every run). */
function rng(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

/** Every source kind of the test city, 3 hours of readings every 20 s, shuffled a little (late and redelivered readings). */
function cityStream(): StoredReading[] {
  const rand = rng(7);
  const city = testCity();
  const out: StoredReading[] = [];
  let seq = 0;
  for (let ts = T0; ts < T0 + 3 * H; ts += 20_000) {
    for (const d of city.devices) {
      const base = { kind: d.kind, device: d.id, gateway: d.gateway, ward: d.ward, ts, seq: seq++ };
      const v = (lo: number, hi: number) => Math.round((lo + rand() * (hi - lo)) * 10) / 10;
      let values: Record<string, number>;
      if (d.kind === 'air_station') values = { pm25: v(5, 120), pm10: v(10, 200), o3: v(10, 150), no2: v(5, 80), co: v(200, 5000) };
      else if (d.kind === 'noise_meter') values = { laeq: v(40, 85) };
      else if (d.kind === 'street_light') values = { energy: 100 + (ts - T0) / 60_000, power: v(0, 200) };
      else values = { lane1_motorbike: v(0, 40), lane1_car: v(0, 10), lane1_speed: v(5, 50), lane1_occupancy: v(0, 60) };
      out.push({ ...base, values });
    }
  }
  // Some readings arrive out of order and some twice (a redelivery), as they do from gateways.
  for (let i = 0; i < out.length - 3; i++) if (rand() < 0.05) [out[i], out[i + 3]] = [out[i + 3]!, out[i]!];
  for (let i = 0; i < out.length; i += 97) out.splice(i, 0, out[Math.max(0, i - 10)]!);
  return out;
}

/** The stream in batches of `size` readings. */
function* batches(stream: StoredReading[], size: number) {
  for (let i = 0; i < stream.length; i += size) yield stream.slice(i, i + size);
}

describe('derived values, coalesced', () => {
  it('write the same final value of every (device, hour) as a recompute per batch, with far fewer recomputes', () => {
    const stream = cityStream();
    const eager = new Deriver(limits, testCity());
    const eagerLast = new Map<string, StoredReading>();
    let eagerRows = 0;
    for (const b of batches(stream, 7)) {
      for (const d of eager.ingest(b)) {
        eagerLast.set(key(d), d);
        eagerRows++;
      }
    }

    let clock = 0;
    const coalesced = new Deriver(limits, testCity(), { coalesceMs: 1000, clock: () => clock });
    const last = new Map<string, StoredReading>();
    const emittedAt = new Map<string, number[]>();
    let rows = 0;
    const take = (out: StoredReading[], closing = false) => {
      for (const d of out) {
        last.set(key(d), d);
        if (!closing) emittedAt.set(key(d), [...(emittedAt.get(key(d)) ?? []), clock]);
        rows++;
      }
    };
    for (const b of batches(stream, 7)) {
      take(coalesced.ingest(b));
      clock += 100;
    }
    // Close: whatever is still held back goes now, due or not.
    take(coalesced.ingest([], true), true);
    expect(coalesced.nextDueIn()).toBeUndefined();

    expect([...last.keys()].sort()).toEqual([...eagerLast.keys()].sort());
    for (const [k, d] of eagerLast) expect(last.get(k), k).toEqual(d);
    // Each (device, hour) recomputed at most once per coalescing window (the hour's readings span 10 windows here)…
    for (const [k, times] of emittedAt) {
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, k).toBeGreaterThanOrEqual(1000);
    }
    // …which is a fraction of the per-batch recomputes.
    expect(rows * 3).toBeLessThan(eagerRows);
  });

  it('holds a change back until it is due, then hands it out with whatever batch comes (or alone)', () => {
    let clock = 0;
    const d = new Deriver(limits, testCity(), { coalesceMs: 5000, clock: () => clock });
    const noise = (ts: number, laeq: number, seq: number): StoredReading => ({
      kind: 'noise_meter',
      device: 'gw-a-noise',
      gateway: 'gw-a',
      ward: 'w1',
      ts,
      seq,
      values: { laeq },
    });
    expect(d.nextDueIn()).toBeUndefined();
    expect(d.ingest([noise(T0, 60, 1)])).toEqual([]);
    expect(d.nextDueIn()).toBe(5000);
    clock = 3000;
    expect(d.ingest([noise(T0 + 1000, 70, 2)])).toEqual([]);
    expect(d.nextDueIn()).toBe(2000);
    clock = 5000;
    const [v] = d.ingest([]);
    expect(v).toMatchObject({ kind: 'noise_hourly', ts: T0, values: { laeq: 67.4, samples: 2 } });
    expect(d.nextDueIn()).toBeUndefined();
    // A redelivered reading changes nothing: nothing to recompute.
    expect(d.ingest([noise(T0 + 1000, 70, 2)])).toEqual([]);
    expect(d.nextDueIn()).toBeUndefined();
  });

  it('computes an hour about to leave the retained window before its state is dropped', () => {
    const eager = new Deriver(limits, testCity());
    // The clock never moves: nothing comes due, only the window forces the recompute.
    const d = new Deriver(limits, testCity(), { coalesceMs: 60_000, clock: () => 0 });
    const air = (ts: number, pm25: number, seq: number): StoredReading => ({
      kind: 'air_station',
      device: 'gw-b-air',
      gateway: 'gw-b',
      ward: 'w1',
      ts,
      seq,
      values: { pm25 },
    });
    // A gateway's buffered backlog: one hour, then a reading 13 hours later (air keeps 12), in one batch.
    const backlog = [air(T0, 40, 1), air(T0 + 60_000, 50, 2), air(T0 + 13 * H, 20, 3)];
    const expected = eager.ingest(backlog);
    const got = d.ingest(backlog);
    expect(got).toEqual(expected.filter((x) => x.ts === T0));
    expect(d.ingest([], true)).toEqual(expected.filter((x) => x.ts === T0 + 13 * H));
  });

  it('after a kill (raw rows stored, derived rows held back and lost) the restore recomputes every restored hour exactly', async () => {
    const { store } = await sqliteStore();
    const stream = cityStream().filter((r) => r.ts < T0 + 2 * H + 30 * 60_000);
    const eager = new Deriver(limits, testCity());
    const expected = new Map<string, StoredReading>();
    for (const b of batches(stream, 50)) for (const x of eager.ingest(b)) expected.set(key(x), x);

    // Live ingest: raw rows durable, derived rows written only as they come due; killed before the rest.
    let clock = 0;
    const live = new Deriver(limits, testCity(), { coalesceMs: 10_000, clock: () => clock });
    for (const b of batches(stream, 50)) {
      await store.writeBatch([...b, ...live.ingest(b)]);
      clock += 1000;
    }
    expect(live.nextDueIn()).toBeDefined();

    const restarted = new Deriver(limits, testCity(), { coalesceMs: 10_000, clock: () => clock });
    const restored = await restarted.restore(store, T0 + 2 * H + 31 * 60_000);
    expect(restored.unrestored).toEqual([]);
    clock += 10_000;
    const rewritten = restarted.ingest([]);
    await store.writeBatch(rewritten);
    for (const kind of ['vn_aqi', 'noise_hourly', 'congestion', 'lighting_energy']) {
      const want = [...expected.values()].filter((x) => x.kind === kind);
      const series = await store.query({
        kind,
        fields: Object.keys(want[0]!.values),
        from: T0 - H,
        to: T0 + 4 * H,
        devices: [...new Set(want.map((x) => x.device))],
      });
      for (const w of want) {
        for (const [field, v] of Object.entries(w.values)) {
          const s = series.find((x) => x.device === w.device && x.field === field);
          expect(s?.points.find(([t]) => t === w.ts)?.[1], `${key(w)} ${field}`).toBe(v);
        }
      }
    }
    await store.close();
  });
});
