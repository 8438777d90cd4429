import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RangeQuery, StoredReading } from '@tamky/protocol';
import { tempDir, waitFor } from '@tamky/test-support';
import { SqliteStore } from '../src';
import { decodeBlock, encodeBlock, type BlockRow } from '../src/sqlite/block-codec';
import { reading } from './contract';
import { expectedRollups, storedReadings, storedRollups } from './rollup-check';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Far enough back that every hour of it is cold (compactable) whenever the test runs.
const T0 = Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR;

const open: SqliteStore[] = [];
function sqlite(path: string, retention?: { rawDays: number; minuteDays: number; hourDays: number; intervalMs: number }) {
  // The timer would fold and compact at moments of its own: these tests do both by hand.
  const s = new SqliteStore({ path, synchronous: 'normal', rollupIntervalMs: 3_600_000, ...(retention ? { retention } : {}) });
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** Deterministic pseudo-random numbers (LCG), so a failure replays identically. */
function lcg(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

/** Values of every shape the codec must keep bit for bit: sensor decimals, integers, and doubles with no short decimal form. */
function value(rand: (n: number) => number, i: number): number {
  switch (i % 6) {
    case 0:
      return (rand(20_000) - 10_000) / 10; // one decimal
    case 1:
      return rand(1000); // integer
    case 2:
      return 0.1 + rand(100) * 0.2; // binary fractions with no exact decimal
    case 3:
      return (rand(2 ** 30) / 2 ** 30) * 10 ** (rand(40) - 20); // any magnitude
    case 4:
      return -(rand(1_000_000) / 1000); // three decimals, negative
    default:
      return [Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, -1e-300, 123456.789][rand(5)]!;
  }
}

function stream(count: number, seed: number): StoredReading[] {
  const rand = lcg(seed);
  const out: StoredReading[] = [];
  for (let i = 0; i < count; i++) {
    const values: Record<string, number> = { a: value(rand, i) };
    if (i % 3 !== 0) values.b = value(rand, i + 1);
    if (i % 7 === 0) values.c = value(rand, i + 2);
    out.push({
      kind: i % 5 === 0 ? 'water_level' : 'air_station',
      device: `dev-${i % 9}`,
      gateway: i % 4 === 0 ? 'gw-2' : 'gw-1',
      ward: `w${Math.floor(i / 500) % 2}`,
      // Irregular intervals.
      ts: T0 + Math.floor(i / 9) * 5_000 + (i % 11 === 0 ? 0 : rand(3000)),
      seq: i,
      values,
    });
  }
  return out;
}

/** Every answer a caller can get about the readings. */
async function answers(s: SqliteStore) {
  const out: unknown[] = [];
  for (const kind of ['water_level', 'air_station']) {
    const q: RangeQuery = { kind, fields: ['a', 'b', 'c'], from: T0, to: T0 + 12 * HOUR };
    out.push(await s.query(q));
    for (const windowMs of [10_000, MIN, HOUR])
      for (const aggregate of ['mean', 'min', 'max', 'last', 'count'] as const) out.push(await s.query({ ...q, windowMs, aggregate }));
  }
  out.push(await s.latest(), await s.sequences('gw-1'), await s.sequences('gw-2', T0 + HOUR, T0 + 2 * HOUR));
  return out;
}

describe('SQLite compaction (cold readings in compressed per-device blocks)', () => {
  it('encodes a block and decodes every value bit for bit, fields in their order, tags and identities intact', () => {
    const rand = lcg(3);
    const rows: BlockRow[] = [];
    for (let i = 0; i < 2000; i++) {
      const values: Record<string, number> = {};
      for (const f of i % 4 === 0 ? ['z', 'a'] : ['a', 'm', 'z']) values[f] = value(rand, i + f.charCodeAt(0));
      rows.push({
        ts: T0 + i * 1000 + rand(7),
        gateway: `gw-${i % 3}`,
        ward: i < 1000 ? 'an-my' : 'hoa-thuan',
        seq: 10 * i + rand(5),
        values,
      });
    }
    const decoded = decodeBlock(encodeBlock(rows));
    expect(decoded).toEqual(rows);
    for (let i = 0; i < rows.length; i++) {
      expect(Object.keys(decoded[i]!.values)).toEqual(Object.keys(rows[i]!.values));
      for (const f in rows[i]!.values) expect(Object.is(decoded[i]!.values[f], rows[i]!.values[f])).toBe(true);
    }
    // -0 and values with no short decimal form survive too (a column falls back to raw doubles).
    const odd = [{ ts: T0, gateway: 'g', ward: 'w', seq: 0, values: { x: -0, y: 0.1 + 0.2, z: 1 / 3 } }];
    const back = decodeBlock(encodeBlock(odd))[0]!.values;
    expect(Object.is(back.x, -0)).toBe(true);
    expect(back).toEqual(odd[0]!.values);
  });

  it('keeps every reading and every answer identical before and after compaction, in a fraction of the bytes', async () => {
    const s = sqlite(join(tempDir('store-compact'), 'ts.db'));
    const readings = stream(6000, 11);
    for (let i = 0; i < readings.length; i += 500) await s.writeBatch(readings.slice(i, i + 500));
    s.catchUpRollups();
    const before = await answers(s);
    const rowsBefore = storedReadings(s);
    expect(rowsBefore).toHaveLength(6000);
    const readingBytes = () => {
      s.db.pragma('wal_checkpoint(TRUNCATE)');
      return s.db
        .prepare("SELECT sum(pgsize) FROM dbstat WHERE name IN ('reading', 'sqlite_autoindex_reading_1', 'reading_block')")
        .pluck()
        .get() as number;
    };
    const hotBytes = readingBytes();

    expect(s.compact()).toBe(6000);
    expect(s.db.prepare('SELECT count(*) AS n FROM reading').get()).toEqual({ n: 0 });
    // One block per device and hour.
    const blocks = s.db.prepare('SELECT kind, device, start, n FROM reading_block').all() as Array<{ start: number; n: number }>;
    expect(blocks.every((b) => b.start % HOUR === 0)).toBe(true);
    expect(blocks.reduce((n, b) => n + b.n, 0)).toBe(6000);
    expect(storedReadings(s)).toEqual(rowsBefore);
    expect(await answers(s)).toEqual(before);
    expect(storedRollups(s, 'rollup_1m')).toEqual(expectedRollups(s, MIN));
    // Nothing left to do: a second pass moves nothing.
    expect(s.compact()).toBe(0);

    s.db.exec('VACUUM');
    expect(readingBytes()).toBeLessThan(hotBytes / 2);
    // A read-only handle on the same file reads the blocks too.
    const reader = new SqliteStore({ path: s.db.name, synchronous: 'normal' }, { readonly: true });
    open.push(reader);
    expect(await answers(reader)).toEqual(before);
  });

  it('identity is (gateway, seq): same timestamp different readings both kept; a redelivery or rewrite of a compacted reading stored once', async () => {
    const s = sqlite(join(tempDir('store-compact'), 'ts.db'));
    const a = reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 10 } });
    // Another reading of the device at the same millisecond (a clock stepped back): a reading of its own.
    const b = reading({ device: 'aq-01', ts: T0 + 1_000, seq: 2, values: { pm25: 20 } });
    const c = reading({ device: 'aq-01', gateway: 'gw-2', ts: T0 + 1_000, seq: 1, values: { pm25: 30 } });
    await s.writeBatch([a, b, c]);
    await s.writeBatch([a, b]); // redelivered while hot
    const q = { kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR };
    const threePoints = [
      [T0 + 1_000, 10],
      [T0 + 1_000, 20],
      [T0 + 1_000, 30],
    ];
    expect((await s.query(q))[0]!.points).toEqual(threePoints);
    expect(await s.sequences('gw-1')).toEqual([1, 2]);
    expect(s.compact()).toBe(3);

    // Redelivered after compaction: nothing changes.
    await s.writeBatch([a, b, c]);
    expect(s.db.prepare('SELECT count(*) AS n FROM reading').get()).toEqual({ n: 0 });
    expect((await s.query(q))[0]!.points).toEqual(threePoints);
    // Rewritten after compaction, one with a corrected timestamp: each still stored once, windows recomputed.
    await s.writeBatch([
      { ...b, values: { pm25: 25 } },
      { ...a, ts: T0 + 2 * HOUR + 5, values: { pm25: 12 } },
    ]);
    const expected = [
      [T0 + 1_000, 25],
      [T0 + 1_000, 30],
      [T0 + 2 * HOUR + 5, 12],
    ];
    expect((await s.query({ ...q, to: T0 + 3 * HOUR }))[0]!.points).toEqual(expected);
    expect(await s.sequences('gw-1')).toEqual([1, 2]);
    const hourly = async () => (await s.query({ ...q, to: T0 + 3 * HOUR - 1, windowMs: HOUR, aggregate: 'sum' }))[0]!.points;
    expect(await hourly()).toEqual([
      [T0, 55],
      [T0 + 2 * HOUR, 12],
    ]);
    s.catchUpRollups();
    expect(await hourly()).toEqual([
      [T0, 55],
      [T0 + 2 * HOUR, 12],
    ]);
    expect(storedRollups(s, 'rollup_1h')).toEqual(expectedRollups(s, HOUR));
    expect(s.compact()).toBe(2);
    expect(storedReadings(s)).toHaveLength(3);
    expect((await s.query({ ...q, to: T0 + 3 * HOUR }))[0]!.points).toEqual(expected);
  });

  it('compacts on its own, on the rollup timer, once the readings are folded and cold; recent ones stay hot', async () => {
    const s = new SqliteStore({
      path: join(tempDir('store-compact'), 'ts.db'),
      synchronous: 'normal',
      rollupIntervalMs: 20,
      compactAfterMs: 0,
    });
    open.push(s);
    const now = Date.now();
    await s.writeBatch([
      ...Array.from({ length: 50 }, (_, i) => reading({ device: 'aq-01', ts: T0 + i * MIN, seq: i, values: { pm25: i / 10 } })),
      reading({ device: 'aq-01', ts: now, seq: 50, values: { pm25: 5 } }),
    ]);
    const hot = () => s.db.prepare('SELECT seq FROM reading').pluck().all();
    await waitFor(() => hot().length === 1, { what: 'the timer to compact the cold readings' });
    expect(hot()).toEqual([50]);
    expect(storedReadings(s)).toHaveLength(51);
    // A late reading of a compacted hour is merged into its block (by the timer within 10 minutes; here on demand).
    expect(s.compact()).toBe(0);
    await s.writeBatch([reading({ device: 'aq-01', ts: T0 + 55 * MIN, seq: 51, values: { pm25: 9 } })]);
    expect(s.compact()).toBe(1);
    expect((await s.query({ kind: 'air', fields: ['pm25'], from: T0, to: now }))[0]!.points).toHaveLength(52);
  });

  it('retention removes compacted readings older than rawDays, cutting the block the cutoff falls in', async () => {
    const s = sqlite(join(tempDir('store-compact'), 'ts.db'), { rawDays: 1, minuteDays: 2, hourDays: 30, intervalMs: HOUR });
    const readings = Array.from({ length: 120 }, (_, i) => reading({ device: 'aq-01', ts: T0 + i * MIN, seq: i, values: { pm25: i } }));
    await s.writeBatch(readings);
    expect(s.compact()).toBe(120);
    // The cutoff half way through the second hour: the first block goes, the second keeps its last 30 minutes.
    const now = T0 + 90 * MIN + DAY;
    expect(s.applyRetention(now).raw).toBe(90);
    expect(storedReadings(s).map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 90 + i));
    expect((await s.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + 2 * HOUR }))[0]!.points[0]).toEqual([T0 + 90 * MIN, 90]);
    // The hourly rollups still hold the first hour.
    expect(
      (await s.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + 2 * HOUR - 1, windowMs: HOUR, aggregate: 'count' }))[0]!.points,
    ).toEqual([
      [T0, 60],
      [T0 + HOUR, 60],
    ]);
    expect(s.applyRetention(now + HOUR).raw).toBe(30);
    expect(s.db.prepare('SELECT count(*) AS n FROM reading_block').get()).toEqual({ n: 0 });
  });

  it('upgrades a schema 3 file (readings keyed by time): readings, rollups and answers kept, then compacts it', async () => {
    const path = join(tempDir('store-compact'), 'v3.db');
    const s = sqlite(path);
    const readings = stream(3000, 5);
    await s.writeBatch(readings);
    const derived = reading({ kind: 'vn_aqi', device: 'dev-1', ts: T0, seq: -1, values: { aqi: 80 } });
    await s.writeBatch([derived]);
    const before = await answers(s);
    const rowsBefore = storedReadings(s);
    await s.close();
    // Back to schema 3's layout: one reading table keyed by (kind, device, ts) holding derived rows too, same rowids.
    const v3 = new Database(path);
    const watermark = v3.prepare('SELECT watermark FROM rollup_state').pluck().get() as number;
    expect(watermark).toBeGreaterThan(0);
    v3.exec(`ALTER TABLE reading RENAME TO reading_v4;
      CREATE TABLE reading (kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL, gateway TEXT NOT NULL, ward TEXT NOT NULL,
        seq INTEGER NOT NULL, vals TEXT NOT NULL, UNIQUE (kind, device, ts));
      INSERT INTO reading (rowid, kind, device, ts, gateway, ward, seq, vals) SELECT rowid, kind, device, ts, gateway, ward, seq, vals FROM reading_v4;
      INSERT INTO reading (kind, device, ts, gateway, ward, seq, vals) SELECT kind, device, ts, gateway, ward, seq, vals FROM derived;
      DROP TABLE reading_v4; DROP TABLE derived; DROP TABLE reading_block; DROP TABLE compacted_seq;
      PRAGMA user_version = 3;`);
    // Schema 3 kept two readings of one device at one ts apart only by ts: none in this stream has the same (kind, device, ts).
    v3.close();

    // A reader (the dashboard) on the schema 3 file before its writer (ingest) upgrades it.
    const reader = new SqliteStore({ path, synchronous: 'normal' }, { readonly: true });
    open.push(reader);
    expect(await answers(reader)).toEqual(before);

    const up = sqlite(path);
    expect(up.db.pragma('user_version', { simple: true })).toBe(4);
    expect(up.db.prepare('SELECT watermark FROM rollup_state').pluck().get()).toBe(watermark);
    expect(storedReadings(up)).toEqual(rowsBefore);
    expect(await answers(up)).toEqual(before);
    expect(up.db.prepare("SELECT count(*) AS n FROM derived WHERE kind = 'vn_aqi'").get()).toEqual({ n: 1 });
    // Identity now by (gateway, seq): a redelivery with another timestamp is the same reading.
    await up.writeBatch([{ ...readings[0]!, ts: readings[0]!.ts + 1 }]);
    expect(storedReadings(up)).toHaveLength(rowsBefore.length);
    await up.writeBatch([readings[0]!]);
    expect(up.compact()).toBe(3000);
    expect(storedReadings(up)).toEqual(rowsBefore);
    expect(await answers(up)).toEqual(before);
    // The reader opened on the old layout finds the blocks and the derived table the upgrade made.
    expect(await answers(reader)).toEqual(before);
    expect((await reader.query({ kind: 'vn_aqi', fields: ['aqi'], from: T0, to: T0 + HOUR }))[0]!.points).toEqual([[T0, 80]]);
    expect(storedRollups(up, 'rollup_1m')).toEqual(expectedRollups(up, MIN));
  });
});
