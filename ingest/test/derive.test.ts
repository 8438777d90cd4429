import { describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { Deriver, loadLimits } from '../src/index';
import { LIMITS_DIR, sqliteStore, testCity } from './helpers/fixtures';

const limits = loadLimits(LIMITS_DIR);
const H = 3_600_000;
// 2025-06-01 07:00 UTC = 14:00 in Tam Kỳ (day); 14:00 UTC = 21:00 local (night).
const DAY = Date.UTC(2025, 5, 1, 7);
const NIGHT = Date.UTC(2025, 5, 1, 14);
// A gateway numbers its readings: distinct readings have distinct seqs (a reading's identity in the store).
let nextSeq = 0;
const r = (kind: string, device: string, ts: number, values: Record<string, number>): StoredReading => ({
  kind,
  device,
  gateway: 'gw-a',
  ward: 'w1',
  ts,
  seq: nextSeq++,
  values,
});

describe('derived values', () => {
  it('noise: energy-averaged LAeq against the zone’s day/night limit in local time', () => {
    const d = new Deriver(limits, testCity());
    const [day] = d.ingest([r('noise_meter', 'gw-a-noise', DAY, { laeq: 60 }), r('noise_meter', 'gw-a-noise', DAY + 1000, { laeq: 70 })]);
    expect(day).toMatchObject({
      kind: 'noise_hourly',
      device: 'gw-a-noise',
      ts: DAY,
      seq: -1,
      values: { laeq: 67.4, limit: 70, night: 0, samples: 2 },
    });
    const [night] = d.ingest([r('noise_meter', 'gw-a-noise', NIGHT + 5, { laeq: 60 })]);
    expect(night!.values).toMatchObject({ laeq: 60, limit: 55, exceedance: 5, night: 1 });
  });

  it('counts a redelivered reading once', () => {
    const d = new Deriver(limits, testCity());
    d.ingest([r('noise_meter', 'gw-a-noise', DAY, { laeq: 60 })]);
    expect(d.ingest([r('noise_meter', 'gw-a-noise', DAY, { laeq: 60 })])).toEqual([]);
    const [v] = d.ingest([r('noise_meter', 'gw-a-noise', DAY + 1, { laeq: 80 })]);
    expect(v!.values.samples).toBe(2);
  });

  it('lighting: energy per hour from counter deltas, bridging the hours', () => {
    const d = new Deriver(limits, testCity());
    d.ingest([r('street_light', 'gw-a-light', DAY, { energy: 100 }), r('street_light', 'gw-a-light', DAY + H - 1000, { energy: 101.5 })]);
    const [next] = d.ingest([
      r('street_light', 'gw-a-light', DAY + H + 1000, { energy: 101.7, power: 800 }),
      r('street_light', 'gw-a-light', DAY + 2 * H - 1000, { energy: 102.5, power: 800 }),
    ]);
    expect(next).toMatchObject({ kind: 'lighting_energy', ts: DAY + H, values: { energy_kwh: 1, power_mean: 800 } });
  });

  it('traffic: congestion index from occupancy and speed, flow per hour by class', () => {
    const d = new Deriver(limits, testCity());
    const [c] = d.ingest([
      r('traffic_counter', 'gw-a-traffic', DAY, { lane1_motorbike: 40, lane1_car: 5, lane1_speed: 45, lane1_occupancy: 10 }),
      r('traffic_counter', 'gw-a-traffic', DAY + 60_000, { lane1_motorbike: 30, lane1_car: 5, lane1_speed: 9, lane1_occupancy: 50 }),
    ]);
    // reading 1: max(10/50, 1−45/45) = 0.2; reading 2: max(1, 0.8) = 1 → mean 0.6 (moderate, level 2)
    expect(c).toMatchObject({ kind: 'congestion', values: { index: 0.6, level: 2, flow: 80, motorbike: 70, car: 10 } });
  });

  it('VN_AQI state survives a restart: rebuilt from the stored raw readings', async () => {
    const { store } = await sqliteStore();
    const now = Date.UTC(2025, 5, 1, 10, 30);
    const hour = Date.UTC(2025, 5, 1, 10);
    const raw = [r('air_station', 'gw-a-air', hour - H + 60_000, { pm25: 60 }), r('air_station', 'gw-a-air', hour + 60_000, { pm25: 30 })];
    const before = new Deriver(limits, testCity());
    const derived = before.ingest(raw);
    await store.writeBatch([...raw, ...derived]);
    const expected = derived.find((x) => x.ts === hour)!;
    // NowCast(30, 60): w* = 0.5 → w = 0.5 → (30 + 30)/1.5 = 40 → sub-index 80.
    expect(expected.values).toMatchObject({ aqi: 80, pm25_nowcast: 40, nowcast_ok: 1 });

    const after = new Deriver(limits, testCity());
    expect(await after.restore(store, now)).toEqual({ restored: 2, unrestored: [] });
    const [again] = after.ingest([r('air_station', 'gw-a-air', hour + 120_000, { pm25: 30 })]);
    expect(again!.values).toMatchObject({ aqi: 80, pm25_nowcast: 40, samples: 2 });
    await store.close();
  });

  it('a store that keeps failing does not stop the restore: chunks are retried, what still fails is reported', async () => {
    const { store } = await sqliteStore();
    const now = Date.UTC(2025, 5, 1, 10, 30);
    const hour = Date.UTC(2025, 5, 1, 10);
    const before = new Deriver(limits, testCity());
    const raw = [r('air_station', 'gw-a-air', hour + 60_000, { pm25: 30 }), r('noise_meter', 'gw-a-noise', hour + 60_000, { laeq: 60 })];
    await store.writeBatch([...raw, ...before.ingest(raw)]);

    // The air history times out twice, then answers; the noise history never does.
    let airFailures = 0;
    const flaky = Object.create(store, {
      query: {
        value: async (q: Parameters<typeof store.query>[0]) => {
          if (q.kind === 'air_station' && airFailures++ < 2) throw new Error('The operation was aborted due to timeout');
          if (q.kind === 'noise_meter') throw new Error('503 Service Unavailable');
          return store.query(q);
        },
      },
    }) as typeof store;
    const errors: string[] = [];
    const after = new Deriver(limits, testCity());
    const result = await after.restore(flaky, now, {
      retryBaseMs: 1,
      retryMaxMs: 5,
      onError: (_e, w) => errors.push(`${w.kind}#${w.attempt}`),
    });
    expect(result).toEqual({ restored: 1, unrestored: ['gw-a-noise', 'gw-b-noise', 'gw-c-noise', 'gw-d-noise'] });
    expect(errors).toEqual(['air_station#0', 'air_station#1', 'noise_meter#0', 'noise_meter#1', 'noise_meter#2', 'noise_meter#3']);

    // Past its deadline a restore starts no query: a dead store does not hold up the start.
    const late = await new Deriver(limits, testCity()).restore(flaky, now, {
      deadline: Date.now() - 1,
      onError: () => errors.push('queried'),
    });
    expect(late.unrestored).toHaveLength(testCity().devices.length);
    expect(errors).not.toContain('queried');

    // Retrying only the unrestored device once the store answers brings its history back.
    expect(await after.restore(store, now, { devices: result.unrestored })).toEqual({ restored: 1, unrestored: [] });
    const [noise] = after.ingest([r('noise_meter', 'gw-a-noise', hour + 120_000, { laeq: 60 })]);
    expect(noise!.values.samples).toBe(2);
    await store.close();
  });
});
