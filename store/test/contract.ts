import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredReading, TimeSeriesStore } from '@tamky/protocol';

/**
 * The one set of assertions every TimeSeriesStore adapter must pass. `open` gives a fresh, empty store
 * for each test. Identity (TimeSeriesStore.writeBatch): a reading is its (gateway, seq); the edge promises
 * that within one (gateway, era) a device's timestamps strictly increase, which a store keyed by time
 * (VictoriaMetrics) relies on.
 */
export interface StoreUnderTest {
  store: TimeSeriesStore;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;
const MIN = 60_000;
// Two days ago, aligned to the hour: inside every default retention, and windows line up with hours.
export const T0 = Math.floor((Date.now() - 2 * 24 * HOUR) / HOUR) * HOUR;

export function reading(over: Partial<StoredReading> & Pick<StoredReading, 'device' | 'ts' | 'values'>): StoredReading {
  return { kind: 'air', gateway: 'gw-1', ward: 'an-my', seq: 0, ...over };
}

export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`TimeSeriesStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: TimeSeriesStore;
    beforeEach(async () => {
      sut = await open();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    it('round-trips readings: tags, fields and timestamps exact', async () => {
      await store.writeBatch([
        reading({ device: 'aq-01', ts: T0 + 1, seq: 1, values: { pm25: 12.5, temp: 30.25 } }),
        reading({ device: 'aq-01', ts: T0 + 61_001, seq: 2, values: { pm25: 0, temp: -3.125 } }),
        reading({ device: 'aq-02', ward: 'hoa-thuan', gateway: 'gw-2', ts: T0 + 999, seq: 7, values: { pm25: 123456.789 } }),
        reading({ kind: 'water', device: 'wl-01', ts: T0 + 5, seq: 3, values: { level: 1.5 } }),
      ]);
      const series = await store.query({ kind: 'air', fields: ['pm25', 'temp'], from: T0, to: T0 + HOUR });
      expect(series).toEqual([
        {
          device: 'aq-01',
          ward: 'an-my',
          field: 'pm25',
          points: [
            [T0 + 1, 12.5],
            [T0 + 61_001, 0],
          ],
        },
        {
          device: 'aq-01',
          ward: 'an-my',
          field: 'temp',
          points: [
            [T0 + 1, 30.25],
            [T0 + 61_001, -3.125],
          ],
        },
        { device: 'aq-02', ward: 'hoa-thuan', field: 'pm25', points: [[T0 + 999, 123456.789]] },
      ]);
      // range bounds are inclusive; other kinds are not mixed in
      expect(await store.query({ kind: 'air', fields: ['pm25'], from: T0 + 999, to: T0 + 61_001, devices: ['aq-01'] })).toEqual([
        { device: 'aq-01', ward: 'an-my', field: 'pm25', points: [[T0 + 61_001, 0]] },
      ]);
      expect(await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR, ward: 'hoa-thuan' })).toEqual([
        { device: 'aq-02', ward: 'hoa-thuan', field: 'pm25', points: [[T0 + 999, 123456.789]] },
      ]);
      expect(await store.query({ kind: 'water', fields: ['level'], from: T0, to: T0 + HOUR })).toEqual([
        { device: 'wl-01', ward: 'an-my', field: 'level', points: [[T0 + 5, 1.5]] },
      ]);
    });

    it('the same (gateway, seq) written again is stored once: count unchanged, aggregates not double counted', async () => {
      const first = [
        reading({ device: 'aq-01', ts: T0 + 10_000, seq: 1, values: { pm25: 10 } }),
        reading({ device: 'aq-01', ts: T0 + 20_000, seq: 2, values: { pm25: 20 } }),
      ];
      await store.writeBatch(first);
      await store.writeBatch(first); // plain redelivery
      await store.writeBatch([first[1]!, first[1]!]); // twice in one batch (a resend racing its PUBACK)
      expect(await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR })).toEqual([
        {
          device: 'aq-01',
          ward: 'an-my',
          field: 'pm25',
          points: [
            [T0 + 10_000, 10],
            [T0 + 20_000, 20],
          ],
        },
      ]);
      for (const windowMs of [MIN, HOUR]) {
        const [count] = await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR - 1, windowMs, aggregate: 'count' });
        const [sum] = await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR - 1, windowMs, aggregate: 'sum' });
        expect(count?.points).toEqual([[T0, 2]]);
        expect(sum?.points).toEqual([[T0, 30]]);
      }
      expect(await store.sequences('gw-1')).toEqual([1, 2]);
    });

    it('a derived value (seq -1) is keyed by (kind, device, ts): its rewrite overwrites', async () => {
      await store.writeBatch([reading({ kind: 'vn_aqi', device: 'aq-01', ts: T0, seq: -1, values: { aqi: 20 } })]);
      await store.writeBatch([reading({ kind: 'vn_aqi', device: 'aq-01', ts: T0, seq: -1, values: { aqi: 50 } })]); // the hour filled
      expect(await store.query({ kind: 'vn_aqi', fields: ['aqi'], from: T0, to: T0 + HOUR })).toEqual([
        { device: 'aq-01', ward: 'an-my', field: 'aqi', points: [[T0, 50]] },
      ]);
    });

    it('a reading is who produced it, never when: same device and ts, different (gateway, seq), all kept', async () => {
      const ts = T0 + 10_000;
      await store.writeBatch([
        reading({ device: 'aq-01', ts, seq: 5, values: { pm25: 10 } }),
        // The gateway's clock stepped back an hour later: a new era, the same time again.
        reading({ device: 'aq-01', ts, seq: 3605, era: 1, values: { pm25: 20 } }),
        // The device moved to another gateway, whose own counter is at the same seq.
        reading({ device: 'aq-01', ts, gateway: 'gw-2', seq: 5, values: { pm25: 30 } }),
      ]);
      // Written again, each is still one reading.
      await store.writeBatch([reading({ device: 'aq-01', ts, seq: 3605, era: 1, values: { pm25: 20 } })]);
      const [series, ...others] = await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR });
      expect(others).toEqual([]);
      expect(series?.points.map(([t]) => t)).toEqual([ts, ts, ts]);
      expect(series?.points.map(([, v]) => v).sort((a, b) => a - b)).toEqual([10, 20, 30]);
      expect(await store.sequences('gw-1')).toEqual([5, 3605]);
      expect(await store.sequences('gw-2')).toEqual([5]);
      for (const [aggregate, value] of [
        ['count', 3],
        ['sum', 60],
        ['mean', 20],
        ['min', 10],
        ['max', 30],
      ] as const) {
        const [s] = await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR - 1, windowMs: MIN, aggregate });
        expect([aggregate, s?.points]).toEqual([aggregate, [[T0, value]]]);
      }
    });

    it('a reading keeps its clock mark: raw points and latest() say which were unsynced or corrected, aggregates are unchanged', async () => {
      await store.writeBatch([
        reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, clock: 'unsynced', values: { pm25: 10, temp: 30 } }),
        reading({ device: 'aq-01', ts: T0 + 2_000, seq: 2, values: { pm25: 20, temp: 31 } }),
        // Taken before a step forward and still in the outbox: moved by the step the edge measured.
        reading({ device: 'aq-01', ts: T0 + 3_000, seq: 3, clock: 'corrected', values: { pm25: 30, temp: 32 } }),
        reading({ device: 'aq-02', ts: T0 + 1_500, seq: 4, values: { pm25: 40 } }),
      ]);
      // A redelivery changes nothing.
      await store.writeBatch([reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, clock: 'unsynced', values: { pm25: 10, temp: 30 } })]);
      const clock = [
        [T0 + 1_000, 'unsynced'],
        [T0 + 3_000, 'corrected'],
      ];
      expect(await store.query({ kind: 'air', fields: ['pm25', 'temp'], from: T0, to: T0 + HOUR })).toEqual([
        {
          device: 'aq-01',
          ward: 'an-my',
          field: 'pm25',
          points: [
            [T0 + 1_000, 10],
            [T0 + 2_000, 20],
            [T0 + 3_000, 30],
          ],
          clock,
        },
        {
          device: 'aq-01',
          ward: 'an-my',
          field: 'temp',
          points: [
            [T0 + 1_000, 30],
            [T0 + 2_000, 31],
            [T0 + 3_000, 32],
          ],
          clock,
        },
        { device: 'aq-02', ward: 'an-my', field: 'pm25', points: [[T0 + 1_500, 40]] },
      ]);
      // Only the marks of the points answered.
      expect(await store.query({ kind: 'air', fields: ['pm25'], from: T0 + 2_500, to: T0 + 3_500, devices: ['aq-01'] })).toEqual([
        { device: 'aq-01', ward: 'an-my', field: 'pm25', points: [[T0 + 3_000, 30]], clock: [[T0 + 3_000, 'corrected']] },
      ]);
      const [count] = await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR - 1, windowMs: MIN, aggregate: 'count' });
      // A window holding both marks says 'unsynced'.
      expect(count).toEqual({ device: 'aq-01', ward: 'an-my', field: 'pm25', points: [[T0, 3]], clock: [[T0, 'unsynced']] });
      expect(await store.sequences('gw-1')).toEqual([1, 2, 3, 4]);
      // latest() carries the newest reading's mark; an older marked reading does not lend its mark to a newer one.
      await store.writeBatch([reading({ device: 'aq-02', ts: T0 + 500, seq: 5, clock: 'unsynced', values: { pm25: 5 } })]);
      const [aq01, aq02] = await store.latest({ kind: 'air' });
      expect(aq01).toEqual({ ...reading({ device: 'aq-01', ts: T0 + 3_000, seq: 3, values: { pm25: 30, temp: 32 } }), clock: 'corrected' });
      expect(aq02).toEqual(reading({ device: 'aq-02', ts: T0 + 1_500, seq: 4, values: { pm25: 40 } }));
      expect(aq02).not.toHaveProperty('clock');
    });

    it('windowed answers mark each window holding a marked reading, unsynced winning over corrected', async () => {
      // aq-01, pm25 by minute: 0: unsynced 10, 20 | 1: corrected 30, 40 | 2: 50 | 3: corrected 60, unsynced 70 |
      // hour 1, minute 0: 80 | hour 1, minute 1: corrected 90. aq-02: unmarked only.
      await store.writeBatch([
        reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, clock: 'unsynced', values: { pm25: 10 } }),
        reading({ device: 'aq-01', ts: T0 + 2_000, seq: 2, values: { pm25: 20 } }),
        reading({ device: 'aq-01', ts: T0 + MIN + 1_000, seq: 3, clock: 'corrected', values: { pm25: 30 } }),
        reading({ device: 'aq-01', ts: T0 + MIN + 2_000, seq: 4, values: { pm25: 40 } }),
        reading({ device: 'aq-01', ts: T0 + 2 * MIN + 1_000, seq: 5, values: { pm25: 50 } }),
        reading({ device: 'aq-01', ts: T0 + 3 * MIN + 1_000, seq: 6, clock: 'corrected', values: { pm25: 60 } }),
        reading({ device: 'aq-01', ts: T0 + 3 * MIN + 2_000, seq: 7, clock: 'unsynced', values: { pm25: 70 } }),
        reading({ device: 'aq-01', ts: T0 + HOUR + 5_000, seq: 8, values: { pm25: 80 } }),
        reading({ device: 'aq-01', ts: T0 + HOUR + MIN + 1_000, seq: 9, clock: 'corrected', values: { pm25: 90 } }),
        reading({ device: 'aq-02', ts: T0 + 1_500, seq: 10, values: { pm25: 15 } }),
        reading({ device: 'aq-02', ts: T0 + HOUR + 1_500, seq: 11, values: { pm25: 25 } }),
      ]);
      const q = { kind: 'air', fields: ['pm25'], from: T0, to: T0 + 2 * HOUR - 1 };
      const byMinute = [
        [T0, 'unsynced'],
        [T0 + MIN, 'corrected'],
        [T0 + 3 * MIN, 'unsynced'],
        [T0 + HOUR + MIN, 'corrected'],
      ];
      const minutes = [T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN, T0 + HOUR, T0 + HOUR + MIN];
      for (const [aggregate, values] of [
        ['mean', [15, 35, 50, 65, 80, 90]],
        ['count', [2, 2, 1, 2, 1, 1]],
        ['last', [20, 40, 50, 70, 80, 90]],
      ] as const) {
        const [aq01, aq02, ...others] = await store.query({ ...q, windowMs: MIN, aggregate });
        expect([aggregate, aq01]).toEqual([
          aggregate,
          { device: 'aq-01', ward: 'an-my', field: 'pm25', points: minutes.map((t, i) => [t, values[i]]), clock: byMinute },
        ]);
        expect(aq02?.device).toBe('aq-02');
        expect(aq02).not.toHaveProperty('clock');
        expect(others).toEqual([]);
      }
      // Windows of another size than the rollups' (raw rows in the embedded store): the same marks.
      const [half] = await store.query({ ...q, windowMs: 30_000, aggregate: 'sum', devices: ['aq-01'] });
      expect(half?.clock).toEqual(byMinute);
      for (const aggregate of ['mean', 'count', 'last'] as const) {
        const [hours] = await store.query({ ...q, windowMs: HOUR, aggregate, devices: ['aq-01'] });
        expect([aggregate, hours?.points.map(([t]) => t), hours?.clock]).toEqual([
          aggregate,
          [T0, T0 + HOUR],
          [
            [T0, 'unsynced'],
            [T0 + HOUR, 'corrected'],
          ],
        ]);
      }
      // Only the windows answered: minute 1 and its mark are outside this range, minute 2 has no marked reading.
      const [part] = await store.query({
        ...q,
        from: T0 + 2 * MIN,
        to: T0 + HOUR - 1,
        windowMs: MIN,
        aggregate: 'mean',
        devices: ['aq-01'],
      });
      expect(part).toEqual({
        device: 'aq-01',
        ward: 'an-my',
        field: 'pm25',
        points: [
          [T0 + 2 * MIN, 50],
          [T0 + 3 * MIN, 65],
        ],
        clock: [[T0 + 3 * MIN, 'unsynced']],
      });
    });

    it('window aggregates match hand-computed values at raw, minute and hour resolution', async () => {
      // minute 0: 1, 2, 3 (last 3) | minute 1: 10, 20 (last 20) | hour 1: 100
      await store.writeBatch([
        reading({ device: 'aq-01', ts: T0 + 40_000, seq: 3, values: { pm25: 3 } }),
        reading({ device: 'aq-01', ts: T0, seq: 1, values: { pm25: 1 } }),
        reading({ device: 'aq-01', ts: T0 + 20_000, seq: 2, values: { pm25: 2 } }),
        reading({ device: 'aq-01', ts: T0 + MIN, seq: 4, values: { pm25: 10 } }),
        reading({ device: 'aq-01', ts: T0 + 90_000, seq: 5, values: { pm25: 20 } }),
        reading({ device: 'aq-01', ts: T0 + HOUR + 5_000, seq: 6, values: { pm25: 100 } }),
        reading({ device: 'aq-02', ts: T0 + 30_000, seq: 7, values: { pm25: 7 } }),
      ]);
      const q = { kind: 'air', fields: ['pm25'], from: T0, to: T0 + 2 * HOUR - 1, devices: ['aq-01'] };
      const points = async (windowMs: number, aggregate: 'mean' | 'min' | 'max' | 'last' | 'sum' | 'count') => {
        const s = await store.query({ ...q, windowMs, aggregate });
        expect(s.map((x) => [x.device, x.field, x.ward])).toEqual([['aq-01', 'pm25', 'an-my']]);
        return s[0]!.points;
      };
      expect(await points(MIN, 'mean')).toEqual([
        [T0, 2],
        [T0 + MIN, 15],
        [T0 + HOUR, 100],
      ]);
      expect(await points(MIN, 'min')).toEqual([
        [T0, 1],
        [T0 + MIN, 10],
        [T0 + HOUR, 100],
      ]);
      expect(await points(MIN, 'max')).toEqual([
        [T0, 3],
        [T0 + MIN, 20],
        [T0 + HOUR, 100],
      ]);
      expect(await points(MIN, 'last')).toEqual([
        [T0, 3],
        [T0 + MIN, 20],
        [T0 + HOUR, 100],
      ]);
      expect(await points(MIN, 'sum')).toEqual([
        [T0, 6],
        [T0 + MIN, 30],
        [T0 + HOUR, 100],
      ]);
      expect(await points(MIN, 'count')).toEqual([
        [T0, 3],
        [T0 + MIN, 2],
        [T0 + HOUR, 1],
      ]);
      expect(await points(2 * MIN, 'mean')).toEqual([
        [T0, 7.2],
        [T0 + HOUR, 100],
      ]);
      expect(await points(HOUR, 'mean')).toEqual([
        [T0, 7.2],
        [T0 + HOUR, 100],
      ]);
      expect(await points(HOUR, 'last')).toEqual([
        [T0, 20],
        [T0 + HOUR, 100],
      ]);
      expect(await points(HOUR, 'count')).toEqual([
        [T0, 5],
        [T0 + HOUR, 1],
      ]);
      expect(await points(3 * MIN, 'max')).toEqual([
        [T0, 20],
        [T0 + HOUR, 100],
      ]);
      expect(await points(30_000, 'sum')).toEqual([
        [T0, 3],
        [T0 + 30_000, 3],
        [T0 + MIN, 10],
        [T0 + 90_000, 20],
        [T0 + HOUR, 100],
      ]);
      const both = await store.query({ ...q, devices: undefined, windowMs: HOUR, aggregate: 'sum' });
      expect(both.map((s) => [s.device, s.points])).toEqual([
        [
          'aq-01',
          [
            [T0, 36],
            [T0 + HOUR, 100],
          ],
        ],
        ['aq-02', [[T0, 7]]],
      ]);
    });

    it('latest returns the newest reading per device, filtered by kind, ward and devices', async () => {
      await store.writeBatch([
        reading({ device: 'aq-01', ts: T0 + 2_000, seq: 2, values: { pm25: 22, temp: 31 } }),
        reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 11, temp: 30 } }),
        reading({ device: 'aq-02', ward: 'hoa-thuan', gateway: 'gw-2', ts: T0 + 500, seq: 9, values: { pm25: 5 } }),
        reading({ kind: 'water', device: 'wl-01', ts: T0 + 700, seq: 3, values: { level: 1.25 } }),
      ]);
      await store.writeBatch([reading({ device: 'aq-01', ts: T0 + 1_500, seq: 4, values: { pm25: 15, temp: 30.5 } })]); // late, older
      const aq01 = { kind: 'air', device: 'aq-01', gateway: 'gw-1', ward: 'an-my', ts: T0 + 2_000, seq: 2, values: { pm25: 22, temp: 31 } };
      const aq02 = { kind: 'air', device: 'aq-02', gateway: 'gw-2', ward: 'hoa-thuan', ts: T0 + 500, seq: 9, values: { pm25: 5 } };
      const wl01 = { kind: 'water', device: 'wl-01', gateway: 'gw-1', ward: 'an-my', ts: T0 + 700, seq: 3, values: { level: 1.25 } };
      expect(await store.latest()).toEqual([aq01, aq02, wl01]);
      expect(await store.latest({ kind: 'air' })).toEqual([aq01, aq02]);
      expect(await store.latest({ ward: 'hoa-thuan' })).toEqual([aq02]);
      expect(await store.latest({ devices: ['aq-01', 'wl-01'] })).toEqual([aq01, wl01]);
      expect(await store.latest({ kind: 'water', ward: 'hoa-thuan' })).toEqual([]);
    });

    it('dead letters are written and listed newest first, even two in the same millisecond', async () => {
      await store.writeDeadLetters([
        { ts: T0 + 1, topic: 'tamky/v1/gw/gw-1/telemetry', gateway: 'gw-1', device: null, reason: 'invalid JSON', raw: '{"v":1,' },
        {
          ts: T0 + 2,
          topic: 'tamky/v1/gw/gw-1/telemetry',
          gateway: 'gw-1',
          device: 'aq-01',
          reason: 'readings[0].values: "quoted" \\ back',
          raw: 'line1\nline2 "q" \\ é',
        },
        { ts: T0 + 2, topic: 'x', gateway: null, device: null, reason: 'same ms', raw: '' },
      ]);
      const all = await store.deadLetters({});
      expect(all).toHaveLength(3);
      expect(all[2]).toEqual({
        ts: T0 + 1,
        topic: 'tamky/v1/gw/gw-1/telemetry',
        gateway: 'gw-1',
        device: null,
        reason: 'invalid JSON',
        raw: '{"v":1,',
      });
      expect(all.slice(0, 2)).toEqual(
        expect.arrayContaining([
          {
            ts: T0 + 2,
            topic: 'tamky/v1/gw/gw-1/telemetry',
            gateway: 'gw-1',
            device: 'aq-01',
            reason: 'readings[0].values: "quoted" \\ back',
            raw: 'line1\nline2 "q" \\ é',
          },
          { ts: T0 + 2, topic: 'x', gateway: null, device: null, reason: 'same ms', raw: '' },
        ]),
      );
      expect(await store.deadLetters({ limit: 1 })).toHaveLength(1);
      expect((await store.deadLetters({ to: T0 + 1 })).map((l) => l.reason)).toEqual(['invalid JSON']);
      expect(await store.deadLetters({ from: T0 + 3 })).toEqual([]);
    });

    it('sequences(gateway) lists the stored seqs ascending across kinds, bounded by reading time', async () => {
      await store.writeBatch([
        reading({ device: 'aq-01', ts: T0 + 3_000, seq: 12, values: { pm25: 1 } }),
        reading({ device: 'aq-01', ts: T0 + 1_000, seq: 10, values: { pm25: 1 } }),
        reading({ kind: 'water', device: 'wl-01', ts: T0 + 2_000, seq: 11, values: { level: 1 } }),
        reading({ device: 'aq-02', gateway: 'gw-2', ts: T0 + 2_000, seq: 99, values: { pm25: 1 } }),
        reading({ device: 'aq-01', ts: T0 + 5_000, seq: 14, values: { pm25: 1 } }),
        // A derived value stored under its source's gateway: not a gateway reading.
        reading({ kind: 'vn_aqi', device: 'aq-01', ts: T0, seq: -1, values: { aqi: 42 } }),
      ]);
      expect(await store.sequences('gw-1')).toEqual([10, 11, 12, 14]);
      expect(await store.sequences('gw-1', T0 + 2_000, T0 + 3_000)).toEqual([11, 12]);
      expect(await store.sequences('gw-2')).toEqual([99]);
      expect(await store.sequences('gw-none')).toEqual([]);
    });
  });
}
