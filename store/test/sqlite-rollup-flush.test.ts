import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { tempDir } from '@tamky/test-support';
import { SqliteStore } from '../src';
import { RawRows } from '../src/sqlite/raw-rows';
import { RollupMaintainer } from '../src/sqlite/rollup-maintainer';
import { expectedRollups, storedRollups } from './rollup-check';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
const HOUR = 3_600_000;
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** A store whose own folding stays out of the way: its first step (at open, nothing to fold) done, the next in an hour. */
async function storeAt(dir: string): Promise<SqliteStore> {
  const s = new SqliteStore({ path: join(tempDir(dir), 'ts.db'), synchronous: 'normal', rollupIntervalMs: 3_600_000 });
  open.push(s);
  await new Promise((r) => setTimeout(r, 20));
  return s;
}

const reading = (i: number, value = i % 13): StoredReading => ({
  kind: 'air_station',
  device: `dev-${i % 9}`,
  gateway: 'gw-1',
  ward: 'w1',
  ts: T0 + i * 4_000,
  seq: i,
  values: { a: value, b: 2 * value },
});

/**
 * While the rollups are behind, steps read rows into deltas held in memory and write them once per flush (the
 * upserts are what folding costs). Nothing of that may show: the watermark and the rollups move together, a
 * reading rewritten after it was read (its old value in memory) ends up counted once with its new value, and a
 * reader's windows are the same before and after.
 */
describe('SQLite rollups folded in flushes', () => {
  it('holds the watermark until a flush, then rollups equal their rows; rewrites of rows read but not flushed are recomputed', async () => {
    const s = await storeAt('store-flush');
    const folder = new RollupMaintainer(s.db, new RawRows(s.db), 500);
    const watermark = () => (s.db.prepare('SELECT watermark FROM rollup_state').get() as { watermark: number }).watermark;
    const rollupCount = () => (s.db.prepare('SELECT coalesce(sum(count), 0) AS n FROM rollup_1m').get() as { n: number }).n;
    const windows = () =>
      Promise.all(
        [60_000, HOUR].map((windowMs) =>
          s.query({ kind: 'air_station', fields: ['a', 'b'], from: T0, to: T0 + 4 * HOUR, windowMs, aggregate: 'sum' }),
        ),
      );

    const all = Array.from({ length: 2_000 }, (_, i) => reading(i));
    for (let i = 0; i < all.length; i += 250) await s.writeBatch(all.slice(i, i + 250));
    const expectedWindows = await windows();

    // Four steps of 100 rows: 400 read, below the flush size: nothing written yet.
    for (let k = 0; k < 4; k++) expect(folder.step(100)).toEqual({ rows: 100, caughtUp: false });
    expect(watermark()).toBe(0);
    expect(rollupCount()).toBe(0);
    // Rows already read (in memory) are rewritten with other values, as a gateway's corrected reading would be.
    await s.writeBatch([reading(10, 1_000), reading(11, 1_001), reading(350, 1_002)]);
    const rewrittenWindows = await windows();
    expect(rewrittenWindows).not.toEqual(expectedWindows);

    // The fifth step reaches the flush size: rollups and watermark move together, exactly the 500 rows' values.
    expect(folder.step(100)).toEqual({ rows: 100, caughtUp: false });
    const wm = watermark();
    expect(wm).toBeGreaterThan(0);
    const rowsFolded = (s.db.prepare('SELECT count(*) AS n FROM reading WHERE rowid <= ?').get(wm) as { n: number }).n;
    expect(rowsFolded).toBe(500);
    expect(rollupCount()).toBe(2 * 500); // two fields per reading
    // A reader in the middle of it sees the windows of the rows as they are (rollups + rows past the watermark).
    expect(await windows()).toEqual(rewrittenWindows);

    folder.catchUp(100);
    expect(storedRollups(s, 'rollup_1m')).toEqual(expectedRollups(s, 60_000));
    expect(storedRollups(s, 'rollup_1h')).toEqual(expectedRollups(s, HOUR));
    expect(s.db.prepare('SELECT count(*) AS n FROM rollup_dirty').get()).toEqual({ n: 0 });
    expect(await windows()).toEqual(rewrittenWindows);
  });

  it('a flush that fails (the disk full) loses nothing: the rows are read again from the watermark', async () => {
    const s = await storeAt('store-flush-fail');
    const folder = new RollupMaintainer(s.db, new RawRows(s.db), 300);
    const all = Array.from({ length: 1_000 }, (_, i) => reading(i));
    await s.writeBatch(all);
    expect(folder.step(200).caughtUp).toBe(false);
    // The next flush fails inside its transaction.
    s.db.exec(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON rollup_1h BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    expect(() => folder.step(200)).toThrow(/disk full/);
    expect(s.db.prepare('SELECT count(*) AS n FROM rollup_1m').get()).toEqual({ n: 0 });
    s.db.exec('DROP TRIGGER refuse');
    folder.catchUp(200);
    expect(storedRollups(s, 'rollup_1m')).toEqual(expectedRollups(s, 60_000));
    expect(storedRollups(s, 'rollup_1h')).toEqual(expectedRollups(s, HOUR));
  });

  it('rows a batch inserted are folded from the batch, equal to reading them back; redeliveries and rewrites go through the table', async () => {
    const s = await storeAt('store-fold-batches');
    const all = Array.from({ length: 2_000 }, (_, i) => reading(i, (i % 17) / 3 - 2));
    for (let i = 0; i < all.length; i += 250) await s.writeBatch(all.slice(i, i + 250));
    // Every row went in new, each batch right after the one before: all folded from the batches, none read back.
    expect(s.rollupFolds()).toEqual({ fromTable: 0, fromBatches: 2_000 });

    // A batch holding a redelivery: its rows are read from the table in turn (rowid order), not from the batch.
    await s.writeBatch([reading(1_999), reading(2_000), reading(2_001)]);
    // A batch right after it waits for the table read too: rows before it are not folded yet.
    await s.writeBatch([reading(2_002)]);
    expect(s.rollupFolds()).toEqual({ fromTable: 0, fromBatches: 2_000 });
    s.catchUpRollups();
    expect(s.rollupFolds()).toEqual({ fromTable: 3, fromBatches: 2_000 });

    // Rows folded from their batch, then rewritten with other values before the next flush: recomputed once.
    await s.writeBatch([reading(2_003), reading(2_004)]);
    await s.writeBatch([reading(2_003, 500), reading(7, 900), reading(2_005)]);
    s.catchUpRollups();
    expect(s.rollupFolds().fromBatches).toBe(2_002);
    expect(storedRollups(s, 'rollup_1m')).toEqual(expectedRollups(s, 60_000));
    expect(storedRollups(s, 'rollup_1h')).toEqual(expectedRollups(s, HOUR));
  });
});
