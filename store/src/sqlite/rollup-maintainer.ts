import type Database from 'better-sqlite3';
import { addValue, emptyAccumulator, windowStart, type Accumulator } from '../windows';
import { DEVICE, KIND, REFS_PER_READING, WARD, type EncodedBatch } from './encoded-batch';
import { MultiRowStatement } from './multi-row';
import type { RawRows } from './raw-rows';
import type { InsertedRows } from './reading-writer';
import { ROLLUPS, type RollupTable } from './schema';

const ROLLUP_CHUNK = 64;
const DEFAULT_FLUSH_ROWS = 100_000;
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
 * Keeps rollup_1m and rollup_1h equal to the raw rows, off the write path. Each step reads the next rows
 * committed past what was read (rowid order) and adds them to deltas held in memory; the deltas are written to
 * the rollups and the watermark moved past their rows in one transaction (a flush) once the rows are caught up
 * with, or once `flushRows` rows are pending. A crash at any point leaves rollups that count exactly the rows up
 * to the watermark (the deltas in memory are lost and read again). While ingest is behind, one flush covers
 * many steps, so a device's window is upserted once per flush rather than once per step: the upserts, not the
 * reads, are what folding costs. Once caught up, the windows of rewritten readings (rollup_dirty) are recomputed
 * from their raw rows. Readers add what is past the watermark themselves (history-reader.ts), so answers never lag.
 * Rows a batch has just inserted, right after the ones already read, are folded from the batch itself
 * (foldInserted): the same rows with the same values, without reading them back and parsing their JSON.
 * Rows past the watermark are only ever rewritten (which marks their windows dirty), never deleted: compaction
 * and retention take rows at or below it, and run once caught up.
 */
export class RollupMaintainer {
  private readonly watermark: Database.Statement<[], number>;
  private readonly setWatermark: Database.Statement<[number]>;
  private readonly rowsAfter: Database.Statement<[number, number], RawRow>;
  private readonly dirtyKeys: Database.Statement<[], { kind: string; device: string; ts: number }>;
  private readonly clearDirty: Database.Statement;
  private readonly upsert: Record<RollupTable, MultiRowStatement>;
  private readonly deleteWindow: Record<RollupTable, Database.Statement<[string, string, number]>>;
  private readonly flushTx: (recompute: boolean) => void;
  /** Deltas of the rows read past the watermark, up to rowid `cursor`; not yet in the rollups. */
  private pending: { series: Map<string, Map<string, SeriesDeltas>>; rows: number; cursor: number } | undefined;
  /** Rows folded so far, by where they were read from (tests check which way rows went). */
  readonly folded = { fromTable: 0, fromBatches: 0 };

  constructor(
    db: Database.Database,
    private readonly raw: RawRows,
    /** Rows read before their deltas are written even though more are waiting (memory, and readers' extra work). */
    private readonly flushRows = DEFAULT_FLUSH_ROWS,
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
    this.flushTx = db.transaction((recompute: boolean) => this.flush(recompute));
  }

  /**
   * Reads up to `maxRows` rows past those already read; writes the deltas when caught up (then `caughtUp`: every
   * committed row is in the rollups) or when enough are pending.
   */
  step(maxRows: number): { rows: number; caughtUp: boolean } {
    const read = this.read(maxRows);
    const caughtUp = read < maxRows;
    if (caughtUp || (this.pending?.rows ?? 0) >= this.flushRows) this.flushTx(caughtUp);
    return { rows: read, caughtUp };
  }

  /** Steps until every committed row is counted (on close, before retention, in tests). */
  catchUp(maxRows = 20_000): void {
    while (!this.step(maxRows).caughtUp);
  }

  /** Adds the next rows past the read cursor to the pending deltas; returns how many were read. */
  private read(maxRows: number): number {
    const pending = this.pendingDeltas();
    const rows = this.rowsAfter.all(pending.cursor, maxRows);
    for (const [, kind, device, ts, ward, seq, vals] of rows) {
      if (seq < 0) continue; // derived values keep no rollups (reading-writer.ts)
      const values = JSON.parse(vals) as Record<string, number>;
      const fields = this.deviceDeltas(pending.series, kind, device);
      for (const field in values) this.addToWindows(fields, kind, device, field, ts, ward, values[field]!);
    }
    if (rows.length > 0) {
      pending.rows += rows.length;
      pending.cursor = rows[rows.length - 1]![0];
      this.folded.fromTable += rows.length;
    }
    return rows.length;
  }

  /**
   * After the batch committed: its inserted rows, when they are the next ones past the read cursor, folded from the
   * batch as `read` would fold them from the table. Otherwise (rows before them not read yet) `read` takes them in
   * turn. Values a JSON text cannot hold as they are (not finite) leave the batch to `read` too.
   */
  foldInserted(b: EncodedBatch, rows: InsertedRows): void {
    const pending = this.pendingDeltas();
    if (pending.cursor !== rows.firstRowid - 1) return;
    const { strings, refs, ts, fieldStart, fieldRefs, values } = b;
    for (const i of rows.indexes) for (let f = fieldStart[i]!; f < fieldStart[i + 1]!; f++) if (!Number.isFinite(values[f]!)) return;
    for (const i of rows.indexes) {
      const k = i * REFS_PER_READING;
      const kind = strings[refs[k + KIND]!]!;
      const device = strings[refs[k + DEVICE]!]!;
      const ward = strings[refs[k + WARD]!]!;
      const fields = this.deviceDeltas(pending.series, kind, device);
      // `+ 0`: -0 reads back from its JSON text as 0.
      for (let f = fieldStart[i]!; f < fieldStart[i + 1]!; f++)
        this.addToWindows(fields, kind, device, strings[fieldRefs[f]!]!, ts[i]!, ward, values[f]! + 0);
    }
    pending.rows += rows.indexes.length;
    pending.cursor = rows.firstRowid + rows.indexes.length - 1;
    this.folded.fromBatches += rows.indexes.length;
  }

  private pendingDeltas(): NonNullable<RollupMaintainer['pending']> {
    return (this.pending ??= { series: new Map(), rows: 0, cursor: this.watermark.get()! });
  }

  /** One key per device, its fields below it: a key string per value was much of a step's work. */
  private deviceDeltas(series: Map<string, Map<string, SeriesDeltas>>, kind: string, device: string): Map<string, SeriesDeltas> {
    const deviceKey = `${kind}\0${device}`;
    let fields = series.get(deviceKey);
    if (!fields) series.set(deviceKey, (fields = new Map()));
    return fields;
  }

  private addToWindows(
    fields: Map<string, SeriesDeltas>,
    kind: string,
    device: string,
    field: string,
    ts: number,
    ward: string,
    value: number,
  ): void {
    let sd = fields.get(field);
    if (!sd) fields.set(field, (sd = { kind, device, field, buckets: ROLLUPS.map(() => new Map()) }));
    for (let t = 0; t < ROLLUPS.length; t++) {
      const bucket = windowStart(ts, ROLLUPS[t]!.ms);
      let d = sd.buckets[t]!.get(bucket);
      if (!d) sd.buckets[t]!.set(bucket, (d = { ward, acc: emptyAccumulator() }));
      if (ts >= d.acc.lastTs) d.ward = ward;
      addValue(d.acc, ts, value);
    }
  }

  /** In a transaction: the pending deltas into the rollups, the watermark past their rows; `recompute` once all are in. */
  private flush(recompute: boolean): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending && pending.rows > 0) {
      const params: unknown[] = [];
      for (let t = 0; t < ROLLUPS.length; t++) {
        params.length = 0;
        for (const fields of pending.series.values())
          for (const sd of fields.values())
            for (const [bucket, { ward, acc: a }] of sd.buckets[t]!)
              params.push(sd.kind, sd.device, sd.field, bucket, ward, a.count, a.sum, a.min, a.max, a.last, a.lastTs);
        this.upsert[ROLLUPS[t]!.table].runAll(params);
      }
      this.setWatermark.run(pending.cursor);
    }
    // Every row is counted now: a rewritten reading's windows can be recomputed from the raw rows exactly.
    if (recompute) this.recomputeDirty();
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
