import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '@tamky/test-support';
import { SqliteStore, openStore, storeConfigSchema } from '../src';
import { T0, reading } from './contract';
import { storedReadings } from './rollup-check';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const open: SqliteStore[] = [];
function sqlite(
  path: string,
  opts: { readonly?: boolean; retention?: { rawDays: number; minuteDays: number; hourDays: number; intervalMs: number } } = {},
) {
  const s = new SqliteStore(
    { path, synchronous: 'normal', ...(opts.retention ? { retention: opts.retention } : {}) },
    { readonly: opts.readonly ?? false },
  );
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

type RollupRow = {
  field: string;
  bucket: number;
  ward: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  last_ts: number;
};
/** The rollup table once every committed row is folded into it (the store folds on a timer, off the write path). */
const rollups = (s: SqliteStore, table: 'rollup_1m' | 'rollup_1h') => {
  s.catchUpRollups();
  return s.db
    .prepare(`SELECT field, bucket, ward, count, sum, min, max, last, last_ts FROM ${table} ORDER BY field, bucket`)
    .all() as RollupRow[];
};

describe('SQLite store', () => {
  it('maintains 1 min and 1 h rollups on write (count, sum, min, max, last per device/field/window)', async () => {
    const s = sqlite(join(tempDir('store'), 'ts.db'));
    await s.writeBatch([
      reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 4, temp: 30 } }),
      reading({ device: 'aq-01', ts: T0 + 2_000, seq: 2, values: { pm25: 2 } }),
    ]);
    await s.writeBatch([reading({ device: 'aq-01', ts: T0 + MIN + 1, seq: 3, values: { pm25: 9 } })]);
    expect(rollups(s, 'rollup_1m')).toEqual([
      { field: 'pm25', bucket: T0, ward: 'an-my', count: 2, sum: 6, min: 2, max: 4, last: 2, last_ts: T0 + 2_000 },
      { field: 'pm25', bucket: T0 + MIN, ward: 'an-my', count: 1, sum: 9, min: 9, max: 9, last: 9, last_ts: T0 + MIN + 1 },
      { field: 'temp', bucket: T0, ward: 'an-my', count: 1, sum: 30, min: 30, max: 30, last: 30, last_ts: T0 + 1_000 },
    ]);
    expect(rollups(s, 'rollup_1h')).toEqual([
      { field: 'pm25', bucket: T0, ward: 'an-my', count: 3, sum: 15, min: 2, max: 9, last: 9, last_ts: T0 + MIN + 1 },
      { field: 'temp', bucket: T0, ward: 'an-my', count: 1, sum: 30, min: 30, max: 30, last: 30, last_ts: T0 + 1_000 },
    ]);
  });

  it('a rewrite recomputes the touched windows: min/max/last follow the new value, nothing is counted twice', async () => {
    const s = sqlite(join(tempDir('store'), 'ts.db'));
    const batch = [
      reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 4, temp: 30 } }),
      reading({ device: 'aq-01', ts: T0 + 2_000, seq: 2, values: { pm25: 8 } }),
    ];
    await s.writeBatch(batch);
    await s.writeBatch(batch);
    // same batch: a new reading, then a correction of it and of an older one (drops the temp field)
    await s.writeBatch([
      reading({ device: 'aq-01', ts: T0 + 3_000, seq: 3, values: { pm25: 1 } }),
      reading({ device: 'aq-01', ts: T0 + 3_000, seq: 3, values: { pm25: 5 } }),
      reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 6 } }),
    ]);
    expect(rollups(s, 'rollup_1m')).toEqual([
      { field: 'pm25', bucket: T0, ward: 'an-my', count: 3, sum: 19, min: 5, max: 8, last: 5, last_ts: T0 + 3_000 },
    ]);
    expect(rollups(s, 'rollup_1h')).toEqual([
      { field: 'pm25', bucket: T0, ward: 'an-my', count: 3, sum: 19, min: 5, max: 8, last: 5, last_ts: T0 + 3_000 },
    ]);
    expect(storedReadings(s)).toHaveLength(3);
  });

  it('answers windows ≥ 1 min from rollups and keeps them after retention removed the raw rows', async () => {
    const now = T0 + 2 * DAY;
    const s = sqlite(join(tempDir('store'), 'ts.db'), { retention: { rawDays: 1, minuteDays: 1.5, hourDays: 30, intervalMs: HOUR } });
    const old = T0 - 10 * HOUR; // older than rawDays and minuteDays at `now`
    await s.writeBatch([
      reading({ device: 'aq-01', ts: old + 1_000, seq: 1, values: { pm25: 10 } }),
      reading({ device: 'aq-01', ts: old + 2 * MIN, seq: 2, values: { pm25: 30 } }),
      reading({ device: 'aq-01', ts: now - HOUR, seq: 3, values: { pm25: 50 } }),
    ]);
    await s.writeDeadLetters([
      { ts: old, topic: 't', gateway: null, device: null, reason: 'old', raw: '' },
      { ts: now, topic: 't', gateway: null, device: null, reason: 'new', raw: '' },
    ]);
    expect(s.applyRetention(now)).toEqual({ raw: 2, minute: 2, hour: 0, deadLetters: 1 });
    const q = { kind: 'air', fields: ['pm25'], from: old - HOUR, to: now };
    expect((await s.query(q))[0]?.points).toEqual([[now - HOUR, 50]]);
    // hourly windows come from rollup_1h, which still holds the expired hour
    expect((await s.query({ ...q, windowMs: HOUR, aggregate: 'mean' }))[0]?.points).toEqual([
      [old, 20],
      [now - HOUR, 50],
    ]);
    // minute windows: that resolution has expired too, and raw rows are gone, so the expired part is told to the hour
    expect((await s.query({ ...q, windowMs: MIN, aggregate: 'count' }))[0]?.points).toEqual([
      [old, 2],
      [now - HOUR, 1],
    ]);
    // unless the caller asks for minute windows only
    expect((await s.query({ ...q, windowMs: MIN, aggregate: 'count', exactWindow: true }))[0]?.points).toEqual([[now - HOUR, 1]]);
    expect((await s.deadLetters({})).map((l) => l.reason)).toEqual(['new']);
    expect(await s.latest()).toHaveLength(1);
  });

  it('applies retention periodically on its own', async () => {
    const s = sqlite(join(tempDir('store'), 'ts.db'), { retention: { rawDays: 1, minuteDays: 1, hourDays: 2, intervalMs: 50 } });
    const old = Date.now() - 1.5 * DAY;
    await s.writeBatch([
      reading({ device: 'aq-01', ts: old, seq: 1, values: { pm25: 3 } }),
      reading({ device: 'aq-01', ts: Date.now(), seq: 2, values: { pm25: 4 } }),
    ]);
    const count = (table: string) => (s.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    await waitFor(() => storedReadings(s).length === 1 && count('rollup_1m') === 1, {
      what: 'the retention sweep to remove the old raw row and minute rollup',
    });
    expect(count('rollup_1h')).toBe(2);
  });

  it('serves a 1 min window from rollup_1m, not from raw rows', async () => {
    const s = sqlite(join(tempDir('store'), 'ts.db'));
    await s.writeBatch([
      reading({ device: 'aq-01', ts: T0 + 5, seq: 1, values: { pm25: 3 } }),
      reading({ device: 'aq-01', ts: T0 + 7, seq: 2, values: { pm25: 5 } }),
    ]);
    s.catchUpRollups();
    s.db.exec('DELETE FROM reading; DELETE FROM reading_block');
    expect(
      (await s.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR, windowMs: 5 * MIN, aggregate: 'mean' }))[0]?.points,
    ).toEqual([[T0, 4]]);
    expect(await s.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + HOUR, windowMs: 1_000, aggregate: 'mean' })).toEqual([]);
  });

  it('windows served from folded rollups carry the clock marks of the readings they hold', async () => {
    const s = sqlite(join(tempDir('store'), 'ts.db'));
    await s.writeBatch([
      reading({ device: 'aq-01', ts: T0 + 5, seq: 1, clock: 'corrected', values: { pm25: 3 } }),
      reading({ device: 'aq-01', ts: T0 + 7, seq: 2, clock: 'unsynced', values: { pm25: 5 } }),
      reading({ device: 'aq-01', ts: T0 + 2 * MIN, seq: 3, values: { pm25: 7 } }),
      reading({ device: 'aq-01', ts: T0 + HOUR + 3 * MIN, seq: 4, clock: 'corrected', values: { pm25: 9 } }),
    ]);
    s.catchUpRollups();
    const q = { kind: 'air', fields: ['pm25'], from: T0, to: T0 + 2 * HOUR - 1, aggregate: 'mean' as const };
    // One rollup row per window (its rows are the points) and several merged into one window.
    expect((await s.query({ ...q, windowMs: MIN }))[0]?.clock).toEqual([
      [T0, 'unsynced'],
      [T0 + HOUR + 3 * MIN, 'corrected'],
    ]);
    expect((await s.query({ ...q, windowMs: 5 * MIN }))[0]?.clock).toEqual([
      [T0, 'unsynced'],
      [T0 + HOUR, 'corrected'],
    ]);
    expect((await s.queryColumns({ ...q, windowMs: HOUR }))[0]?.clock).toEqual([
      [T0, 'unsynced'],
      [T0 + HOUR, 'corrected'],
    ]);
  });

  it('a read-only handle on the same file sees what the writer commits and refuses to write', async () => {
    const path = join(tempDir('store'), 'ts.db');
    const reader = await openStore({ type: 'sqlite', path }, { readonly: true }); // before the writer exists
    const writer = await openStore({ type: 'sqlite', path });
    await writer.writeBatch([reading({ device: 'aq-01', ts: T0, seq: 5, values: { pm25: 7 } })]);
    expect(await reader.latest()).toEqual([
      { kind: 'air', device: 'aq-01', gateway: 'gw-1', ward: 'an-my', ts: T0, seq: 5, values: { pm25: 7 } },
    ]);
    await writer.writeBatch([reading({ device: 'aq-01', ts: T0 + 1, seq: 6, values: { pm25: 8 } })]);
    expect(await reader.sequences('gw-1')).toEqual([5, 6]);
    await expect(reader.writeBatch([reading({ device: 'aq-01', ts: T0 + 2, values: { pm25: 1 } })])).rejects.toThrow(/read-only/);
    await reader.close();
    await writer.close();
  });

  it("another process opened read-only sees the writer's commits while it keeps writing", async () => {
    const path = join(tempDir('store'), 'ts.db');
    const writer = sqlite(path);
    await writer.writeBatch([reading({ device: 'aq-01', ts: T0, seq: 1, values: { pm25: 1 } })]);
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/read-latest.ts'), path, '50'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    for (let seq = 2; seq <= 50; seq++) {
      await writer.writeBatch([reading({ device: 'aq-01', ts: T0 + seq * 1000, seq, values: { pm25: seq } })]);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await exited, err).toBe(0);
    const seen = JSON.parse(out) as { latest: unknown[]; seqs: number[] };
    expect(seen.seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(seen.latest).toEqual([
      { kind: 'air', device: 'aq-01', gateway: 'gw-1', ward: 'an-my', ts: T0 + 50_000, seq: 50, values: { pm25: 50 } },
    ]);
  });

  it('validates its config with defaults, naming the field in errors', () => {
    const parsed = storeConfigSchema.parse({ type: 'sqlite', path: '/tmp/x.db' });
    expect(parsed).toEqual({ type: 'sqlite', path: '/tmp/x.db', synchronous: 'normal', worker: true, rollupIntervalMs: 1000, cacheMb: 64 });
    const bad = storeConfigSchema.safeParse({ type: 'influxdb', url: 'http://h:8086', api: 'v1' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['database']);
  });

  it("answers a gateway's sequences per device, a device that moved gateways counted under each by its own readings", async () => {
    const path = join(tempDir('store'), 'ts.db');
    const s = sqlite(path);
    await s.writeBatch([
      reading({ device: 'aq-01', gateway: 'gw-1', ts: T0 + 1_000, seq: 7, values: { pm25: 7 } }),
      reading({ device: 'aq-02', gateway: 'gw-1', ts: T0 + 1_000, seq: 8, values: { pm25: 8 } }),
      reading({ device: 'aq-01', gateway: 'gw-1', ts: T0 + 2_000, seq: 9, values: { pm25: 9 } }),
    ]);
    // aq-01 moved to gw-2; a redelivery of an old reading changes nothing.
    await s.writeBatch([
      reading({ device: 'aq-01', gateway: 'gw-2', ts: T0 + 3_000, seq: 1, values: { pm25: 1 } }),
      reading({ device: 'aq-02', gateway: 'gw-1', ts: T0 + 1_000, seq: 8, values: { pm25: 8 } }),
    ]);
    expect(await s.sequences('gw-1')).toEqual([7, 8, 9]);
    expect(await s.sequences('gw-2')).toEqual([1]);
    expect(await s.sequences('gw-1', T0 + 1_500, T0 + 5_000)).toEqual([9]);
    // A second handle on the file (a restart) knows the same combinations and adds only new ones.
    await s.close();
    const again = sqlite(path);
    await again.writeBatch([reading({ device: 'aq-02', gateway: 'gw-2', ts: T0 + 4_000, seq: 2, values: { pm25: 2 } })]);
    expect(await again.sequences('gw-2')).toEqual([1, 2]);
    expect(again.db.prepare('SELECT gateway, device FROM gateway_device ORDER BY gateway, device').all()).toEqual([
      { gateway: 'gw-1', device: 'aq-01' },
      { gateway: 'gw-1', device: 'aq-02' },
      { gateway: 'gw-2', device: 'aq-01' },
      { gateway: 'gw-2', device: 'aq-02' },
    ]);
  });

  it('upgrades a version 1 file: the per-reading gateway index goes, gateway_device is filled from the readings', async () => {
    const path = join(tempDir('store'), 'v1.db');
    const v1 = new Database(path);
    v1.pragma('journal_mode = WAL');
    v1.exec(`CREATE TABLE reading (kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL, gateway TEXT NOT NULL, ward TEXT NOT NULL, seq INTEGER NOT NULL, vals TEXT NOT NULL, UNIQUE (kind, device, ts));
      CREATE INDEX reading_gateway_ts ON reading (gateway, ts, seq);
      INSERT INTO reading VALUES ('air_station', 'aq-01', ${T0}, 'gw-1', 'an-my', 3, '{"pm25":1}'), ('air_station', 'aq-01', ${T0 + 1000}, 'gw-1', 'an-my', 4, '{"pm25":2}'), ('air_station', 'aq-02', ${T0}, 'gw-2', 'an-my', 5, '{"pm25":3}');
      PRAGMA user_version = 1;`);
    // A derived series written by version 1: its rollups, and an hour whose raw row retention already removed.
    for (const table of ['rollup_1m', 'rollup_1h'])
      v1.exec(`CREATE TABLE ${table} (kind TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL, bucket INTEGER NOT NULL,
        ward TEXT NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
        last REAL NOT NULL, last_ts INTEGER NOT NULL, PRIMARY KEY (kind, device, field, bucket)) WITHOUT ROWID`);
    v1.exec(`CREATE TABLE latest (kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL, gateway TEXT NOT NULL,
      ward TEXT NOT NULL, seq INTEGER NOT NULL, vals TEXT NOT NULL, PRIMARY KEY (kind, device)) WITHOUT ROWID`);
    v1.exec(`INSERT INTO reading VALUES ('vn_aqi', 'aq-01', ${T0 + HOUR}, 'gw-1', 'an-my', -1, '{"aqi":80,"pm25_aqi":75}');
      INSERT INTO latest VALUES ('vn_aqi', 'aq-01', ${T0 + HOUR}, 'gw-1', 'an-my', -1, '{"aqi":80,"pm25_aqi":75}');
      INSERT INTO rollup_1h VALUES ('vn_aqi', 'aq-01', 'aqi', ${T0}, 'an-my', 1, 60, 60, 60, 60, ${T0}), ('vn_aqi', 'aq-01', 'pm25_aqi', ${T0}, 'an-my', 1, 55, 55, 55, 55, ${T0}),
        ('vn_aqi', 'aq-01', 'aqi', ${T0 + HOUR}, 'an-my', 1, 80, 80, 80, 80, ${T0 + HOUR}), ('vn_aqi', 'aq-01', 'pm25_aqi', ${T0 + HOUR}, 'an-my', 1, 75, 75, 75, 75, ${T0 + HOUR});
      INSERT INTO rollup_1m VALUES ('vn_aqi', 'aq-01', 'aqi', ${T0 + HOUR}, 'an-my', 1, 80, 80, 80, 80, ${T0 + HOUR});`);
    v1.close();
    const s = sqlite(path);
    expect(s.db.pragma('user_version', { simple: true })).toBe(4);
    expect(s.db.prepare("SELECT name FROM sqlite_master WHERE name = 'reading_gateway_ts'").all()).toEqual([]);
    expect(await s.sequences('gw-1')).toEqual([3, 4]);
    expect(await s.sequences('gw-2')).toEqual([5]);
    const derivedRows = s.db.prepare("SELECT ts, seq, vals FROM derived WHERE kind = 'vn_aqi' ORDER BY ts").all() as Array<{
      ts: number;
      seq: number;
      vals: string;
    }>;
    expect(derivedRows.map((r) => ({ ...r, vals: JSON.parse(r.vals) }))).toEqual([
      { ts: T0, seq: -1, vals: { aqi: 60, pm25_aqi: 55 } },
      { ts: T0 + HOUR, seq: -1, vals: { aqi: 80, pm25_aqi: 75 } },
    ]);
    expect(s.db.prepare("SELECT count(*) AS n FROM rollup_1h WHERE kind = 'vn_aqi'").get()).toEqual({ n: 0 });
    expect(s.db.prepare("SELECT count(*) AS n FROM rollup_1m WHERE kind = 'vn_aqi'").get()).toEqual({ n: 0 });
    const hours = await s.query({ kind: 'vn_aqi', fields: ['aqi'], from: T0, to: T0 + 2 * HOUR, windowMs: HOUR, aggregate: 'last' });
    expect(hours[0]!.points).toEqual([
      [T0, 60],
      [T0 + HOUR, 80],
    ]);
  });

  it('keeps derived values (seq < 0) as rows rewritten in place, without rollups; windows over them come from the rows; retention keeps them as long as hourly rollups', async () => {
    const s = sqlite(join(tempDir('store'), 'ts.db'), { retention: { rawDays: 1, minuteDays: 2, hourDays: 30, intervalMs: 3_600_000 } });
    // Hours 0 and 1 of one day, whatever the time of the run (T0 is a whole hour two days ago: at 23:00 its next
    // hour is the next day's, and the daily window below would hold one hour each).
    const D0 = Math.floor(T0 / DAY) * DAY;
    const aqi = (hour: number, v: number) =>
      reading({ kind: 'vn_aqi', device: 'aq-01', ts: D0 + hour * HOUR, seq: -1, values: { aqi: v } });
    await s.writeBatch([reading({ device: 'aq-01', ts: D0 + 1_000, seq: 1, values: { pm25: 4 } }), aqi(0, 50)]);
    // The running hour rewritten by the next batches, then the next hour.
    await s.writeBatch([aqi(0, 60)]);
    await s.writeBatch([aqi(0, 70), aqi(1, 90)]);
    expect(s.db.prepare("SELECT count(*) AS n FROM rollup_1h WHERE kind = 'vn_aqi'").get()).toEqual({ n: 0 });
    expect(s.db.prepare("SELECT count(*) AS n FROM rollup_1m WHERE kind = 'vn_aqi'").get()).toEqual({ n: 0 });
    expect(s.db.prepare("SELECT ts, vals FROM derived WHERE kind = 'vn_aqi' ORDER BY ts").all()).toEqual([
      { ts: D0, vals: '{"aqi":70}' },
      { ts: D0 + HOUR, vals: '{"aqi":90}' },
    ]);
    expect((await s.latest({ kind: 'vn_aqi' }))[0]!.values).toEqual({ aqi: 90 });
    const hourly = await s.query({ kind: 'vn_aqi', fields: ['aqi'], from: D0, to: D0 + 2 * HOUR, windowMs: HOUR, aggregate: 'max' });
    expect(hourly[0]!.points).toEqual([
      [D0, 70],
      [D0 + HOUR, 90],
    ]);
    const daily = await s.query({ kind: 'vn_aqi', fields: ['aqi'], from: D0, to: D0 + DAY - 1, windowMs: DAY, aggregate: 'mean' });
    expect(daily[0]!.points).toEqual([[D0, 80]]);
    // The raw sensor series still has its rollups.
    s.catchUpRollups();
    expect(s.db.prepare("SELECT count(*) AS n FROM rollup_1h WHERE kind = 'air'").get()).toEqual({ n: 1 });
    // Ten days on: raw rows (1 day) are gone, the derived hours (30 days) stay.
    const removed = s.applyRetention(D0 + 10 * DAY);
    expect(removed.raw).toBe(1);
    expect(s.db.prepare("SELECT count(*) AS n FROM derived WHERE kind = 'vn_aqi'").get()).toEqual({ n: 2 });
    expect(s.applyRetention(D0 + 31 * DAY + 2 * HOUR).raw).toBe(2);
  });
});
