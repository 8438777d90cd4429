import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Series, StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { tempDir } from '@tamky/test-support';
import { openStore, retentionSchema, SqliteStore, SqliteWorkerStore } from '../src';
import { reading } from './contract';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const DEFAULTS = retentionSchema.parse({});

const open: TimeSeriesStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** A reading every 10 min (off the minute) over the 40 days before `now`; values sum exactly in binary. */
function fortyDays(now: number): StoredReading[] {
  const start = Math.floor((now - 40 * DAY) / HOUR) * HOUR;
  const out: StoredReading[] = [];
  for (let i = 0, ts = start + 17 * SEC; ts < now; i++, ts += 10 * MIN)
    out.push(reading({ device: 'aq-01', ts, seq: i, values: { pm25: ((i * 37) % 101) + 0.25 * (i % 4) } }));
  return out;
}

/** Mean per epoch-aligned window of the readings in [from, to], computed from the readings alone. */
function means(readings: StoredReading[], from: number, to: number, windowMs: number): Array<[number, number]> {
  const windows = new Map<number, [number, number]>();
  for (const r of readings) {
    if (r.ts < from || r.ts > to) continue;
    const t = Math.floor(r.ts / windowMs) * windowMs;
    const [sum, n] = windows.get(t) ?? [0, 0];
    windows.set(t, [sum + r.values.pm25!, n + 1]);
  }
  return [...windows].sort((a, b) => a[0] - b[0]).map(([t, [sum, n]]) => [t, sum / n]);
}

/** The minute rollups' and raw rows' cutoff at the sweep's `now`, rounded up to the hour: where hourly points give way. */
const seamAt = (now: number) => Math.ceil((now - DEFAULTS.minuteDays * DAY) / HOUR) * HOUR;

function onlyPoints(series: Series[]): Array<[number, number]> {
  expect(series.map((s) => [s.device, s.ward, s.field])).toEqual([['aq-01', 'an-my', 'pm25']]);
  return series[0]!.points;
}

async function expectFallbackAnswers(store: TimeSeriesStore, readings: StoredReading[], now: number) {
  const base = { kind: 'air', fields: ['pm25'], aggregate: 'mean' as const };

  // A 30-day chart in 30-min windows: hourly points where the minute rollups are gone, 30-min points after.
  const seam = seamAt(now);
  const from30 = Math.floor((now - 30 * DAY) / HOUR) * HOUR;
  const month = onlyPoints(await store.query({ ...base, from: from30, to: now, windowMs: 30 * MIN }));
  expect(month).toEqual([...means(readings, from30, seam - 1, HOUR), ...means(readings, seam, now, 30 * MIN)]);
  expect(month[0]![0]).toBe(from30);
  expect(month.at(-1)![0]).toBeGreaterThan(now - HOUR);
  expect(month.filter(([t]) => t < seam)).toHaveLength((seam - from30) / HOUR);
  const lastWindow = Math.floor(readings.at(-1)!.ts / (30 * MIN)) * 30 * MIN;
  expect(month.filter(([t]) => t >= seam)).toHaveLength((lastWindow - seam) / (30 * MIN) + 1);
  const times = month.map(([t]) => t);
  expect(times).toEqual([...new Set(times)].sort((a, b) => a - b));

  // A one-day chart from three weeks ago in 1-min windows: that day's 24 hourly points.
  const day = Math.floor((now - 21 * DAY) / DAY) * DAY;
  const oneDay = onlyPoints(await store.query({ ...base, from: day, to: day + DAY - 1, windowMs: MIN }));
  expect(oneDay).toEqual(means(readings, day, day + DAY - 1, HOUR));
  expect(oneDay.map(([t]) => t)).toEqual(Array.from({ length: 24 }, (_, h) => day + h * HOUR));

  // Windows under a minute across the raw rows' cutoff: hourly points before it, 10-s windows from raw rows after.
  const fromRaw = now - 16 * DAY;
  const toRaw = now - 12 * DAY;
  expect(onlyPoints(await store.query({ ...base, from: fromRaw, to: toRaw, windowMs: 10 * SEC }))).toEqual([
    ...means(readings, Math.floor(fromRaw / HOUR) * HOUR, seam - 1, HOUR),
    ...means(readings, seam, toRaw, 10 * SEC),
  ]);

  // Entirely within retention: the source serving the window answers it all, as before.
  const recent = now - 3 * DAY;
  expect(onlyPoints(await store.query({ ...base, from: recent, to: now, windowMs: 30 * MIN }))).toEqual(
    means(readings, Math.floor(recent / MIN) * MIN, now, 30 * MIN),
  );
  expect(onlyPoints(await store.query({ ...base, from: now - 6 * HOUR, to: now, windowMs: 10 * SEC }))).toEqual(
    means(readings, now - 6 * HOUR, now, 10 * SEC),
  );
  // Raw points (no window) are not filled in from rollups: only the raw rows retention kept.
  const raw = onlyPoints(await store.query({ kind: 'air', fields: ['pm25'], from: now - 20 * DAY, to: now }));
  expect(raw).toEqual(readings.filter((r) => r.ts >= now - DEFAULTS.rawDays * DAY).map((r) => [r.ts, r.values.pm25]));
}

describe('SQLite history past the default retention', () => {
  it('answers the part of a windowed range older than its source keeps from the next coarser rollup (inline and read-only)', async () => {
    const path = join(tempDir('store-fallback'), 'ts.db');
    const store = new SqliteStore({ path, synchronous: 'normal' });
    open.push(store);
    const now = Date.now();
    const readings = fortyDays(now);
    await store.writeBatch(readings);
    store.catchUpRollups();
    const removed = store.applyRetention(now);
    expect(removed.raw).toBeGreaterThan(0);
    expect(removed.minute).toBeGreaterThan(0);
    expect(removed.hour).toBe(0);
    await expectFallbackAnswers(store, readings, now);

    const reader = await openStore({ type: 'sqlite', path }, { readonly: true });
    open.push(reader);
    expect(reader).toBeInstanceOf(SqliteStore);
    await expectFallbackAnswers(reader, readings, now);
  });

  it('gives the same answers from a worker store (openStore type sqlite)', async () => {
    const store = await openStore({ type: 'sqlite', path: join(tempDir('store-fallback-worker'), 'ts.db') });
    open.push(store);
    expect(store).toBeInstanceOf(SqliteWorkerStore);
    const now = Date.now();
    const readings = fortyDays(now);
    await store.writeBatch(readings);
    const removed = await (store as SqliteWorkerStore).applyRetention(now);
    expect(removed.minute).toBeGreaterThan(0);
    await expectFallbackAnswers(store, readings, now);
  });
});
