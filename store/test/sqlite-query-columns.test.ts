import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnsToSeries, type RangeQuery, type StoredReading } from '@tamky/protocol';
import { tempDir } from '@tamky/test-support';
import { openStore, SqliteStore, type SqliteWorkerStore } from '../src';
import { columnsOfLists } from '../src/sqlite/history-reader';

// queryColumns (what the history API encodes, and what the worker store's query() is built from) must answer
// exactly what query() answers, on every path of the reader: raw points, rollup rows as they are, rollup rows
// merged into wider windows, rows not folded yet, rewritten readings, derived kinds, ward and device filters.
const T0 = Date.UTC(2025, 2, 3, 0, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DEVICES = ['aq-01', 'aq-02', 'aq-03'];

function readings(fromMin: number, toMin: number, shift = 0): StoredReading[] {
  const out: StoredReading[] = [];
  for (let m = fromMin; m < toMin; m++)
    for (const [i, device] of DEVICES.entries())
      out.push({
        kind: 'air',
        device,
        gateway: `gw-${i}`,
        // A device moves ward half way: answers name the newest ward.
        ward: i === 2 && m > 150 ? 'tan-thanh' : 'hoa-thuan',
        ts: T0 + m * MIN + i * 7_000,
        seq: m,
        values: { pm25: 10 + ((m * 7 + i * 3) % 23) / 3 + shift, temp: 27.5 - (m % 11) * 0.1 },
      });
  return out;
}
const derived = (): StoredReading[] =>
  [0, 1, 2].map((h) => ({
    kind: 'vn_aqi',
    device: 'aq-01',
    gateway: 'gw-0',
    ward: 'hoa-thuan',
    ts: T0 + h * HOUR,
    seq: -1,
    values: { aqi: 40 + h / 3 },
  }));

const QUERIES: RangeQuery[] = [
  { kind: 'air', fields: ['pm25', 'temp'], from: T0, to: T0 + 4 * HOUR },
  { kind: 'air', fields: ['pm25'], from: T0 + 90 * MIN + 1, to: T0 + 200 * MIN, devices: ['aq-02', 'aq-03'] },
  ...(['mean', 'min', 'max', 'last', 'sum', 'count'] as const).flatMap((aggregate) =>
    [MIN, 5 * MIN, HOUR, 2 * HOUR, 90_000].map((windowMs) => ({
      kind: 'air',
      fields: ['pm25', 'temp'],
      from: T0,
      to: T0 + 4 * HOUR,
      windowMs,
      aggregate,
    })),
  ),
  { kind: 'air', fields: ['pm25'], from: T0, to: T0 + 4 * HOUR, windowMs: MIN, aggregate: 'mean', ward: 'tan-thanh' },
  { kind: 'vn_aqi', fields: ['aqi'], from: T0, to: T0 + 4 * HOUR, windowMs: HOUR, aggregate: 'mean' },
  { kind: 'vn_aqi', fields: ['aqi'], from: T0, to: T0 + 4 * HOUR },
];

describe('SQLite queryColumns', () => {
  let inline: SqliteStore;
  beforeAll(async () => {
    // Rollups folded once at open, then not again within the test: later rows stay past the watermark.
    inline = new SqliteStore({ path: join(tempDir('store-columns'), 'ts.db'), synchronous: 'normal', rollupIntervalMs: 3_600_000 });
    // The timer's first step runs at open: let it pass on the empty file, so what is written after it stays unfolded.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await inline.writeBatch(readings(0, 120));
    inline.catchUpRollups();
    await inline.writeBatch(readings(120, 200));
    // Rewritten with other values after they were folded: their windows are recomputed from the raw rows.
    await inline.writeBatch(readings(30, 40, 5));
    await inline.writeBatch(derived());
  });
  afterAll(() => inline?.close());

  it('answers what query() answers, point for point, on every path', async () => {
    // Rows past the rollups' watermark and rewrites not recomputed yet: the reader's slow paths are taken.
    const folded = inline.db.prepare<[], number>('SELECT watermark FROM rollup_state').pluck().get()!;
    expect(folded).toBeLessThan(inline.db.prepare<[], number>('SELECT max(rowid) FROM reading').pluck().get()!);
    expect(inline.db.prepare<[], number>('SELECT count(*) FROM rollup_dirty').pluck().get()).toBeGreaterThan(0);
    for (const q of QUERIES) {
      const series = await inline.query(q);
      expect(series.length, JSON.stringify(q)).toBeGreaterThan(0);
      const columns = await inline.queryColumns(q);
      for (const c of columns) {
        expect(c.ts).toBeInstanceOf(Float64Array);
        expect(c.values).toBeInstanceOf(Float64Array);
      }
      expect(columns.map(columnsToSeries), JSON.stringify(q)).toEqual(series);
    }
  });

  it('answers the same from the worker store (columns moved between threads)', async () => {
    const path = join(tempDir('store-columns-worker'), 'ts.db');
    const worker = await openStore({ type: 'sqlite', path });
    // Read inline from the same file once the thread has folded everything: one state, so even the floating-point
    // sums of wide windows are the same (another file folded otherwise adds in another order).
    const reader = new SqliteStore({ path, synchronous: 'normal' }, { readonly: true });
    try {
      await worker.writeBatch(readings(0, 120));
      await worker.writeBatch(readings(120, 200));
      await worker.writeBatch(readings(30, 40, 5));
      await worker.writeBatch(derived());
      expect(await (worker as SqliteWorkerStore).compact(T0)).toBe(0); // folds every row and rewrite, moves none
      for (const q of QUERIES) {
        const expected = await reader.query(q);
        expect(expected.length, JSON.stringify(q)).toBeGreaterThan(0);
        expect(await worker.query(q), JSON.stringify(q)).toEqual(expected);
        const columns = await worker.queryColumns!(q);
        expect(columns.every((c) => c.ts instanceof Float64Array && c.values instanceof Float64Array)).toBe(true);
        expect(columns.map(columnsToSeries), JSON.stringify(q)).toEqual(expected);
      }
    } finally {
      await reader.close();
      await worker.close();
    }
  });

  it("reads rollup rows as they are through SQLite's text of them, double for double", async () => {
    // The fast path asks SQLite for each series as two comma-separated lists; values whose text is long or odd
    // (thirds, tiny, huge, negative, whole) must come back as the very doubles the rows hold.
    const store = new SqliteStore({ path: join(tempDir('store-columns-text'), 'ts.db'), synchronous: 'normal' });
    try {
      const odd = [1 / 3, 2 / 3, 1e-7, 123456789.12345679, 1e21, 5e-324, -0.1 - 0.2, 62, -7.5, 0.30000000000000004];
      const batch: StoredReading[] = [];
      for (let m = 0; m < 120; m++)
        batch.push({
          kind: 'odd',
          device: 'odd-01',
          gateway: 'gw-odd',
          ward: 'hoa-thuan',
          ts: T0 + m * MIN,
          seq: m,
          values: { v: odd[m % odd.length]! * (1 + m / 7) },
        });
      await store.writeBatch(batch);
      store.catchUpRollups();
      for (const aggregate of ['mean', 'min', 'max', 'last', 'sum', 'count'] as const) {
        const q: RangeQuery = { kind: 'odd', fields: ['v'], from: T0, to: T0 + 2 * HOUR, windowMs: MIN, aggregate };
        const value = { mean: 'sum / count', min: 'min', max: 'max', last: 'last', sum: 'sum', count: 'count' }[aggregate];
        const rows = store.db
          .prepare(`SELECT bucket, ${value} FROM rollup_1m WHERE kind = 'odd' AND bucket >= ? AND bucket <= ? ORDER BY bucket`)
          .raw(true)
          .all(T0, T0 + 2 * HOUR) as Array<[number, number]>;
        expect(rows).toHaveLength(120);
        const [c] = await store.queryColumns(q);
        expect(Array.from(c!.ts), aggregate).toEqual(rows.map((r) => r[0]));
        expect(Array.from(c!.values), aggregate).toEqual(rows.map((r) => r[1]));
      }
    } finally {
      await store.close();
    }
  });

  it('leaves to the row path what two lists cannot carry', () => {
    expect(columnsOfLists('1,2,3', '0.5,1e+21,-3')).toEqual({
      ts: Float64Array.from([1, 2, 3]),
      values: Float64Array.from([0.5, 1e21, -3]),
    });
    expect(columnsOfLists('1,2', 'Inf,-Inf')).toBeUndefined(); // SQLite's text of an infinity
    expect(columnsOfLists('1,2', '3')).toBeUndefined();
    expect(columnsOfLists('2,1', '3,4')).toBeUndefined(); // out of order
  });
});
