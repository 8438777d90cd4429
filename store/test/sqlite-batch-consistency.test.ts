import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { tempDir } from '@tamky/test-support';
import { SqliteStore } from '../src';
import { expectedRollups, storedReadings, storedRollups } from './rollup-check';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe('SQLite batch writes (multi-row chunks, rewrites applied row by row, rollups folded afterwards)', () => {
  it('keeps every rollup equal to its raw rows across new readings, redeliveries, rewrites and in-batch duplicates', async () => {
    const s = new SqliteStore({ path: join(tempDir('store-consistency'), 'ts.db'), synchronous: 'normal' });
    open.push(s);
    // Deterministic pseudo-random stream (LCG), so a failure replays identically.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const written: StoredReading[] = [];
    const make = (i: number, value: number): StoredReading => ({
      kind: i % 5 === 0 ? 'noise_meter' : 'air_station',
      device: `dev-${i % 7}`,
      gateway: 'gw-1',
      ward: `w${i % 2}`,
      ts: T0 + Math.floor(i / 7) * 7_000,
      seq: i,
      values: i % 3 === 0 ? { a: value } : { a: value, b: value * 2 },
    });
    let next = 0;
    for (let batch = 0; batch < 25; batch++) {
      const rows: StoredReading[] = [];
      const size = 1 + rand(300);
      for (let k = 0; k < size; k++) {
        const what = written.length > 0 ? rand(10) : 9;
        if (what === 0)
          rows.push(written[rand(written.length)]!); // identical redelivery
        else if (what === 1)
          rows.push({ ...written[rand(written.length)]!, values: { a: rand(1000) } }); // rewrite, a field dropped
        else if (what === 2 && rows.length > 0)
          rows.push({ ...rows[rand(rows.length)]!, values: { a: rand(1000), b: 1 } }); // duplicate in the batch
        else rows.push(make(next++, rand(1000)));
      }
      await s.writeBatch(rows);
      written.push(...rows);
      // Half the stream folded into the rollups and compacted into blocks, the rest (and the rewrites after it, of
      // hot and of compacted readings) still pending when queried.
      if (batch === 12) {
        s.catchUpRollups();
        expect(s.compact()).toBeGreaterThan(0);
      }
    }
    expect(next).toBeGreaterThan(1000);
    expect((s.db.prepare('SELECT count(*) AS n FROM reading_block').get() as { n: number }).n).toBeGreaterThan(0);
    const key = (r: { kind: string; device: string; gateway: string; seq: number }) => `${r.kind}|${r.device}|${r.gateway}|${r.seq}`;
    const distinct = new Set(written.map(key)).size;
    const stored = storedReadings(s);
    expect(stored).toHaveLength(distinct);
    // The last write of each key is what is stored, exactly (hot rows and blocks alike).
    const lastOf = new Map(written.map((r) => [key(r), r]));
    for (const row of stored) expect(row).toEqual(lastOf.get(key(row)));
    // Queries add the rows past the watermark and recompute rewritten windows: the same answers before and after folding.
    const answers = async () => {
      const out: unknown[] = [];
      for (const kind of ['noise_meter', 'air_station'])
        for (const windowMs of [60_000, 300_000, 3_600_000])
          for (const aggregate of ['mean', 'min', 'max', 'last', 'sum', 'count'] as const)
            out.push(await s.query({ kind, fields: ['a', 'b'], from: T0, to: T0 + 3 * 3_600_000, windowMs, aggregate }));
      return out;
    };
    const beforeFolding = await answers();
    expect(s.db.prepare('SELECT count(*) AS n FROM rollup_dirty').get()).not.toEqual({ n: 0 });
    s.catchUpRollups();
    expect(s.db.prepare('SELECT count(*) AS n FROM rollup_dirty').get()).toEqual({ n: 0 });
    expect(await answers()).toEqual(beforeFolding);
    expect(storedRollups(s, 'rollup_1m')).toEqual(expectedRollups(s, 60_000));
    expect(storedRollups(s, 'rollup_1h')).toEqual(expectedRollups(s, 3_600_000));
    // Everything compacted now: the same readings, the same answers, raw points included.
    expect(s.compact()).toBeGreaterThan(0);
    expect(s.db.prepare('SELECT count(*) AS n FROM reading').get()).toEqual({ n: 0 });
    expect(storedReadings(s)).toEqual(stored);
    expect(await answers()).toEqual(beforeFolding);
    expect(storedRollups(s, 'rollup_1h')).toEqual(expectedRollups(s, 3_600_000));
  });
});
