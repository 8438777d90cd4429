import type Database from 'better-sqlite3';
import { addValue, emptyAccumulator, windowStart, type Accumulator } from '../windows';
import { MultiRowStatement } from './multi-row';
import type { RawRows } from './raw-rows';
import { ROLLUPS, type RollupTable } from './schema';

const ROLLUP_CHUNK = 64;
const UPSERT_TAIL = `ON CONFLICT (kind, device, field, bucket) DO UPDATE SET
  count = count + excluded.count, sum = sum + excluded.sum,
  min = min(min, excluded.min), max = max(max, excluded.max),
  last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
  ward = CASE WHEN excluded.last_ts >= last_ts THEN excluded.ward ELSE ward END,
  last_ts = max(last_ts, excluded.last_ts)`;

interface WindowDelta {
  ward: string;
  acc: Accumulator;
}
/** One series' deltas per rollup table, keyed by bucket start. */
interface SeriesDeltas {
  kind: string;
  device: string;
  field: string;
  buckets: Array<Map<number, WindowDelta>>;
}

/** A raw row as read for rollups: rowid, kind, device, ts, ward, seq, vals. */
type RawRow = [number, string, string, number, string, number, string];

/**
 * Keeps rollup_1m and rollup_1h equal to the raw rows, off the write path: each step folds the rows committed
 * since the watermark (rowid order) into the rollups and moves the watermark, in one transaction, so a crash
 * at any point leaves rollups that count exactly the rows up to the watermark, and the next step goes on from
 * there. Once caught up, the windows of rewritten readings (rollup_dirty) are recomputed from their raw rows.
 * Readers add what is past the watermark themselves (history-reader.ts), so answers never lag.
 */
export class RollupMaintainer {
  private readonly watermark: Database.Statement<[], number>;
  private readonly setWatermark: Database.Statement<[number]>;
  private readonly rowsAfter: Database.Statement<[number, number], RawRow>;
  private readonly dirtyKeys: Database.Statement<[], { kind: string; device: string; ts: number }>;
  private readonly clearDirty: Database.Statement;
  private readonly upsert: Record<RollupTable, MultiRowStatement>;
  private readonly deleteWindow: Record<RollupTable, Database.Statement<[string, string, number]>>;
  private readonly stepTx: (maxRows: number) => { rows: number; caughtUp: boolean };

  constructor(
    db: Database.Database,
    private readonly raw: RawRows,
  ) {
    this.watermark = db.prepare<[], number>('SELECT watermark FROM rollup_state WHERE id = 1').pluck();
    this.setWatermark = db.prepare('UPDATE rollup_state SET watermark = ? WHERE id = 1');
    this.rowsAfter = db
      .prepare<[number, number], RawRow>(
        'SELECT rowid, kind, device, ts, ward, seq, vals FROM reading WHERE rowid > ? ORDER BY rowid LIMIT ?',
      )
      .raw(true) as unknown as Database.Statement<[number, number], RawRow>;
    this.dirtyKeys = db.prepare('SELECT kind, device, ts FROM rollup_dirty');
    this.clearDirty = db.prepare('DELETE FROM rollup_dirty');
    const upsert = (table: RollupTable) =>
      new MultiRowStatement(
        db,
        `INSERT INTO ${table} (kind, device, field, bucket, ward, count, sum, min, max, last, last_ts)`,
        11,
        ROLLUP_CHUNK,
        UPSERT_TAIL,
      );
    this.upsert = { rollup_1m: upsert('rollup_1m'), rollup_1h: upsert('rollup_1h') };
    const del = (table: RollupTable) =>
      db.prepare<[string, string, number]>(`DELETE FROM ${table} WHERE kind = ? AND device = ? AND bucket = ?`);
    this.deleteWindow = { rollup_1m: del('rollup_1m'), rollup_1h: del('rollup_1h') };
    this.stepTx = db.transaction((maxRows: number) => this.fold(maxRows));
  }

  /** One transaction: up to `maxRows` raw rows past the watermark; `caughtUp` once none are left behind. */
  step(maxRows: number): { rows: number; caughtUp: boolean } {
    return this.stepTx(maxRows);
  }

  /** Steps until every committed row is counted (on close, before retention, in tests). */
  catchUp(maxRows = 20_000): void {
    while (!this.step(maxRows).caughtUp);
  }

  private fold(maxRows: number): { rows: number; caughtUp: boolean } {
    const rows = this.rowsAfter.all(this.watermark.get()!, maxRows);
    const series = new Map<string, SeriesDeltas>();
    for (const [, kind, device, ts, ward, seq, vals] of rows) {
      if (seq < 0) continue; // derived values keep no rollups (reading-writer.ts)
      const values = JSON.parse(vals) as Record<string, number>;
      for (const field in values) {
        const key = `${kind}\0${device}\0${field}`;
        let sd = series.get(key);
        if (!sd) series.set(key, (sd = { kind, device, field, buckets: ROLLUPS.map(() => new Map()) }));
        for (let t = 0; t < ROLLUPS.length; t++) {
          const bucket = windowStart(ts, ROLLUPS[t]!.ms);
          let d = sd.buckets[t]!.get(bucket);
          if (!d) sd.buckets[t]!.set(bucket, (d = { ward, acc: emptyAccumulator() }));
          if (ts >= d.acc.lastTs) d.ward = ward;
          addValue(d.acc, ts, values[field]!);
        }
      }
    }
    const params: unknown[] = [];
    for (let t = 0; t < ROLLUPS.length; t++) {
      params.length = 0;
      for (const sd of series.values())
        for (const [bucket, { ward, acc: a }] of sd.buckets[t]!)
          params.push(sd.kind, sd.device, sd.field, bucket, ward, a.count, a.sum, a.min, a.max, a.last, a.lastTs);
      this.upsert[ROLLUPS[t]!.table].runAll(params);
    }
    if (rows.length > 0) this.setWatermark.run(rows[rows.length - 1]![0]);
    const caughtUp = rows.length < maxRows;
    // Every row is counted now: a rewritten reading's windows can be recomputed from the raw rows exactly.
    if (caughtUp) this.recomputeDirty();
    return { rows: rows.length, caughtUp };
  }

  private recomputeDirty(): void {
    const windows = new Map<string, { table: RollupTable; ms: number; kind: string; device: string; bucket: number }>();
    for (const { kind, device, ts } of this.dirtyKeys.all())
      for (const { table, ms } of ROLLUPS) {
        const bucket = windowStart(ts, ms);
        windows.set(`${table}\0${kind}\0${device}\0${bucket}`, { table, ms, kind, device, bucket });
      }
    if (windows.size === 0) return;
    for (const w of windows.values()) this.recomputeWindow(w.table, w.ms, w.kind, w.device, w.bucket);
    this.clearDirty.run();
  }

  private recomputeWindow(table: RollupTable, ms: number, kind: string, device: string, bucket: number): void {
    this.deleteWindow[table].run(kind, device, bucket);
    const perField = new Map<string, { acc: Accumulator; ward: string }>();
    // Hot rows and compacted blocks alike; derived values keep no rollups.
    for (const row of this.raw.rows(kind, device, bucket, bucket + ms - 1)) {
      if (row.seq < 0) continue;
      const values = row.values;
      for (const field in values) {
        let f = perField.get(field);
        if (!f) perField.set(field, (f = { acc: emptyAccumulator(), ward: row.ward }));
        addValue(f.acc, row.ts, values[field]!);
        f.ward = row.ward;
      }
    }
    const params: unknown[] = [];
    for (const [field, { acc: a, ward }] of perField)
      params.push(kind, device, field, bucket, ward, a.count, a.sum, a.min, a.max, a.last, a.lastTs);
    this.upsert[table].runAll(params);
  }
}
