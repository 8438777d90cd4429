import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { startInfluxd } from '@tamky/test-support';
import { openStore, type InfluxStore } from '../src';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let influxd: Awaited<ReturnType<typeof startInfluxd>>;
beforeAll(async () => {
  influxd = await startInfluxd();
});
afterAll(async () => {
  await influxd?.stop();
});

// Three days ago, on the hour; six hours of one reading a minute, value = minute index within its hour.
const T0 = Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR;
const history = (device: string, values: (minute: number) => number): StoredReading[] =>
  Array.from({ length: 6 * 60 }, (_, i) => ({
    kind: 'air_station',
    device,
    gateway: 'gw-1',
    ward: 'w1',
    ts: T0 + i * 60_000,
    seq: i,
    values: { pm25: values(i % 60), pm10: 1 },
  }));

const open = (database: string) =>
  openStore({ type: 'influxdb', api: 'v1', url: influxd.url, database, downsample: { retentionPolicy: '1h' } }) as Promise<InfluxStore>;

describe('InfluxDB 1.6.7 downsampling wired into queries', () => {
  it('sets up the hourly retention policy and continuous query on open', async () => {
    const store = await open('ds_setup');
    const rps = (await store.influxql('SHOW RETENTION POLICIES ON "ds_setup"'))[0]!.values.map((v) => v[0]);
    expect(rps).toContain('1h');
    const cqs = (await store.influxql('SHOW CONTINUOUS QUERIES')).find((s) => s.name === 'ds_setup')!;
    expect(String(cqs.values[0]![1])).toMatch(
      /RESAMPLE EVERY 1h FOR 2h .*INTO ds_setup\."1h"\.:MEASUREMENT FROM ds_setup\.autogen\.\/\.\*\/ GROUP BY time\(1h\), \*/,
    );
    await store.close();
  });

  it('a 7-day query reads the downsampled data (every aggregate exact); a short one reads raw data', async () => {
    const store = await open('ds_read');
    await store.writeBatch(history('aq-1', (m) => m));
    expect(await store.backfillDownsampled(T0, T0 + 6 * HOUR)).toBeGreaterThan(0);
    // Rewrite the raw data after downsampling: a long range still answers from the hourly policy, a short one from raw.
    await store.writeBatch(history('aq-1', () => 1000));
    const from = Date.now() - 7 * DAY;
    const long = async (aggregate: 'mean' | 'min' | 'max' | 'sum' | 'count' | 'last', windowMs = HOUR) =>
      (await store.query({ kind: 'air_station', fields: ['pm25'], from, to: Date.now(), windowMs, aggregate }))[0]!.points;
    const hours = Array.from({ length: 6 }, (_, h) => T0 + h * HOUR);
    expect(await long('mean')).toEqual(hours.map((t) => [t, 29.5]));
    expect(await long('min')).toEqual(hours.map((t) => [t, 0]));
    expect(await long('max')).toEqual(hours.map((t) => [t, 59]));
    expect(await long('sum')).toEqual(hours.map((t) => [t, 1770]));
    expect(await long('count')).toEqual(hours.map((t) => [t, 60]));
    expect(await long('last')).toEqual(hours.map((t) => [t, 59]));
    // A 6 h window merges six hourly rows (weighted mean), aligned like GROUP BY time on raw data.
    const windows = [...new Set(hours.map((t) => Math.floor(t / (6 * HOUR)) * 6 * HOUR))];
    expect(await long('mean', 6 * HOUR)).toEqual(windows.map((t) => [t, 29.5]));
    expect(await long('count', 6 * HOUR)).toEqual(
      windows.map((t) => [t, 60 * hours.filter((h) => Math.floor(h / (6 * HOUR)) * 6 * HOUR === t).length]),
    );
    const short = await store.query({
      kind: 'air_station',
      fields: ['pm25'],
      from: T0,
      to: T0 + 6 * HOUR - 1,
      windowMs: HOUR,
      aggregate: 'mean',
    });
    expect(short[0]!.points).toEqual(hours.map((t) => [t, 1000]));
    await store.close();
  });

  it('falls back to raw GROUP BY time when nothing was downsampled, and reads the last hours raw', async () => {
    const store = await open('ds_fallback');
    await store.writeBatch(history('aq-2', (m) => m));
    const q = {
      kind: 'air_station',
      fields: ['pm25'],
      from: Date.now() - 7 * DAY,
      to: Date.now(),
      windowMs: HOUR,
      aggregate: 'mean' as const,
    };
    expect((await store.query(q))[0]!.points).toEqual(Array.from({ length: 6 }, (_, h) => [T0 + h * HOUR, 29.5]));

    // Downsampled history plus readings of the current hour, which no CQ has reached yet: both in one answer.
    await store.backfillDownsampled(T0, T0 + 6 * HOUR);
    const nowHour = Math.floor(Date.now() / HOUR) * HOUR;
    await store.writeBatch([
      { kind: 'air_station', device: 'aq-2', gateway: 'gw-1', ward: 'w1', ts: nowHour + 1, seq: 9999, values: { pm25: 7 } },
    ]);
    const points = (await store.query({ ...q, to: Date.now() + HOUR }))[0]!.points;
    expect(points.slice(0, 6)).toEqual(Array.from({ length: 6 }, (_, h) => [T0 + h * HOUR, 29.5]));
    expect(points.at(-1)).toEqual([nowHour, 7]);
    await store.close();
  });
});
