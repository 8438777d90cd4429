import type Database from 'better-sqlite3';
import { DEVICE, GATEWAY, KIND, REFS_PER_READING, valsOf, WARD, type EncodedBatch } from './encoded-batch';
import type { CompactedSeqs } from './compactor';
import { MultiRowStatement } from './multi-row';
import type { ReadingBlocks } from './raw-rows';

/** Readings per multi-row INSERT. */
const INSERT_CHUNK = 64;

const gatewayDeviceKey = (gateway: string, kind: string, device: string): string => `${gateway}\0${kind}\0${device}`;

/** The raw rows a batch inserted, when each of them went in as a new row: batch indexes and their rowids. */
export interface InsertedRows {
  /** Batch indexes of the rows, in rowid order. */
  indexes: number[];
  /** Rowid of indexes[0]; the others follow one by one. */
  firstRowid: number;
}

export interface WriteOutcome {
  /** New gateway/device keys, to be remembered by `committed` once the transaction commits. */
  fresh: string[];
  /**
   * Set when every raw reading of the batch went in as a new row (none was a redelivery or rewrite of a hot row):
   * the rollups can then fold them from the batch instead of reading them back (RollupMaintainer.foldInserted).
   */
  inserted: InsertedRows | undefined;
}

/**
 * The hot path: a batch's raw rows, its derived values, the newest reading per device and new gateway/device
 * pairs, inside the caller's transaction. Rollups are not touched here: RollupMaintainer folds the committed
 * rows into them afterwards. A reading's identity is (kind, device, gateway, seq): a reading rewritten with other
 * content (values, ward, or a corrected timestamp) replaces the stored one and is noted in rollup_dirty at its
 * old and new timestamps, so those windows are recomputed from the raw rows instead of counted twice.
 */
export class ReadingWriter {
  private readonly insertReadings: MultiRowStatement;
  private readonly storedReading: Database.Statement<[unknown, unknown, unknown, unknown], { ts: number; ward: string; vals: string }>;
  private readonly rewriteReading: Database.Statement;
  private readonly markDirty: MultiRowStatement;
  private readonly upsertLatest: MultiRowStatement;
  private readonly upsertDerived: MultiRowStatement;
  private readonly insertGatewayDevices: MultiRowStatement;
  private readonly putMark: Database.Statement;
  private readonly dropMark: Database.Statement;
  /** (gateway, kind, device) rows known to be in gateway_device (loaded on the first write): most batches add none. */
  private knownGatewayDevices: Set<string> | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly blocks: ReadingBlocks,
    private readonly compacted: CompactedSeqs,
  ) {
    this.insertReadings = new MultiRowStatement(
      db,
      'INSERT OR IGNORE INTO reading (kind, device, ts, gateway, ward, seq, vals)',
      7,
      INSERT_CHUNK,
    );
    this.storedReading = db.prepare('SELECT ts, ward, vals FROM reading WHERE kind = ? AND device = ? AND gateway = ? AND seq = ?');
    this.rewriteReading = db.prepare(
      'UPDATE reading SET ts = ?, ward = ?, vals = ? WHERE kind = ? AND device = ? AND gateway = ? AND seq = ?',
    );
    this.markDirty = new MultiRowStatement(db, 'INSERT OR IGNORE INTO rollup_dirty (kind, device, ts)', 3, 200);
    // Many devices per statement (one row per device: `newest` below), as the raw rows.
    this.upsertLatest = new MultiRowStatement(
      db,
      'INSERT INTO latest (kind, device, ts, gateway, ward, seq, vals)',
      7,
      INSERT_CHUNK,
      `ON CONFLICT (kind, device) DO UPDATE SET ts = excluded.ts, gateway = excluded.gateway, ward = excluded.ward, seq = excluded.seq, vals = excluded.vals
       WHERE excluded.ts >= latest.ts`,
    );
    this.upsertDerived = new MultiRowStatement(
      db,
      'INSERT INTO derived (kind, device, ts, gateway, ward, seq, vals)',
      7,
      INSERT_CHUNK,
      'ON CONFLICT (kind, device, ts) DO UPDATE SET gateway = excluded.gateway, ward = excluded.ward, seq = excluded.seq, vals = excluded.vals',
    );
    this.insertGatewayDevices = new MultiRowStatement(db, 'INSERT OR IGNORE INTO gateway_device (gateway, kind, device)', 3, 200);
    this.putMark = db.prepare('INSERT OR REPLACE INTO reading_clock (kind, device, ts, gateway, seq, mark) VALUES (?, ?, ?, ?, ?, ?)');
    this.dropMark = db.prepare('DELETE FROM reading_clock WHERE kind = ? AND device = ? AND gateway = ? AND seq = ?');
  }

  /**
   * Writes the batch (call inside a transaction). Raw readings go in by multi-row INSERT OR IGNORE; a chunk in
   * which some row was already stored (a redelivery, a rewrite, the same key twice in the batch) has each of its
   * rows compared with the stored one and applied as an UPDATE when it differs, in batch order, so the last write
   * of a key wins and a real change marks the key dirty for the rollups. A reading whose seq is at or below what
   * was compacted for its device and gateway may be in a block: it is looked up there first (inBlock). Returns
   * the new gateway/device keys and, when every raw reading went in as a new row, which rows those are.
   */
  write(b: EncodedBatch): WriteOutcome {
    const { strings, refs, ts, seq } = b;
    /** Per (kind, device): the index of its newest reading in the batch. */
    const newest = new Map<number, number>();
    const params: unknown[] = [];
    const dirty: unknown[] = [];
    const raw: number[] = [];
    const derived: number[] = [];
    let allNew = true;
    for (let i = 0; i < b.count; i++) {
      this.noteNewest(newest, b, i);
      if (seq[i]! < 0) derived.push(i);
      else if (!this.inBlock(b, i, dirty)) raw.push(i);
    }
    let firstRowid = 0;
    let lastRowid = 0;
    for (let start = 0; start < raw.length; start += INSERT_CHUNK) {
      const end = Math.min(raw.length, start + INSERT_CHUNK);
      params.length = 0;
      for (let n = start; n < end; n++) {
        const i = raw[n]!;
        const k = i * REFS_PER_READING;
        params.push(
          strings[refs[k + KIND]!],
          strings[refs[k + DEVICE]!],
          ts[i],
          strings[refs[k + GATEWAY]!],
          strings[refs[k + WARD]!],
          seq[i],
          valsOf(b, i),
        );
      }
      const inserted = this.insertReadings.runWithRowid(params);
      if (inserted.changes === end - start) {
        if (start === 0) firstRowid = inserted.lastRowid - (end - start - 1);
        lastRowid = inserted.lastRowid;
        continue;
      }
      allNew = false;
      for (let n = start; n < end; n++) {
        const p = (n - start) * 7;
        const [kind, device, t, gateway, ward, s, v] = params.slice(p, p + 7);
        const stored = this.storedReading.get(kind, device, gateway, s)!;
        if (stored.ts === t && stored.ward === ward && stored.vals === v) continue; // a redelivery, or the row just inserted
        this.rewriteReading.run(t, ward, v, kind, device, gateway, s);
        // A rewrite (a corrected timestamp) replaces the reading's mark too: the batch's marks go in below.
        this.dropMark.run(kind, device, gateway, s);
        dirty.push(kind, device, stored.ts);
        if (stored.ts !== t) dirty.push(kind, device, t);
      }
    }
    this.markDirty.runAll(dirty);
    for (const [i, mark] of b.marks) {
      if (seq[i]! < 0) continue;
      const k = i * REFS_PER_READING;
      const kind = strings[refs[k + KIND]!];
      const device = strings[refs[k + DEVICE]!];
      const gateway = strings[refs[k + GATEWAY]!];
      this.dropMark.run(kind, device, gateway, seq[i]);
      this.putMark.run(kind, device, ts[i], gateway, seq[i], mark);
    }
    if (derived.length > 0) this.writeDerived(b, derived);
    const latest: unknown[] = [];
    for (const i of newest.values()) {
      const k = i * REFS_PER_READING;
      latest.push(
        strings[refs[k + KIND]!],
        strings[refs[k + DEVICE]!],
        ts[i],
        strings[refs[k + GATEWAY]!],
        strings[refs[k + WARD]!],
        seq[i],
        valsOf(b, i),
      );
    }
    this.upsertLatest.runAll(latest);
    const consecutive = raw.length > 0 && lastRowid - firstRowid === raw.length - 1;
    return { fresh: this.recordGatewayDevices(b), inserted: allNew && consecutive ? { indexes: raw, firstRowid } : undefined };
  }

  /**
   * Reading i if it may have been compacted: true when a block holds it unchanged (nothing to write). A block
   * holding it with other content loses it (the new content goes in as a hot row) and both timestamps' windows
   * are marked dirty.
   */
  private inBlock(b: EncodedBatch, i: number, dirty: unknown[]): boolean {
    const k = i * REFS_PER_READING;
    const kind = b.strings[b.refs[k + KIND]!]!;
    const device = b.strings[b.refs[k + DEVICE]!]!;
    const gateway = b.strings[b.refs[k + GATEWAY]!]!;
    const seq = b.seq[i]!;
    if (!(seq <= this.compacted.highest(kind, device, gateway))) return false;
    const found = this.blocks.find(kind, device, gateway, seq);
    if (!found) return false;
    const old = found.rows[found.at]!;
    const ward = b.strings[b.refs[k + WARD]!]!;
    if (old.ts === b.ts[i] && old.ward === ward && JSON.stringify(old.values) === valsOf(b, i)) return true;
    found.rows.splice(found.at, 1);
    this.blocks.put(kind, device, found.start, found.rows);
    this.dropMark.run(kind, device, gateway, seq);
    dirty.push(kind, device, old.ts);
    if (old.ts !== b.ts[i]) dirty.push(kind, device, b.ts[i]);
    return false;
  }

  /** After COMMIT: a rolled-back batch added nothing, so its pairs are remembered only now. */
  committed(fresh: string[]): void {
    for (const key of fresh) this.knownGatewayDevicePairs().add(key);
  }

  /**
   * Derived values (seq < 0: ingest's hourly VN_AQI, LAeq, congestion, energy) are rewritten in place by
   * every batch while their hour runs, one per device and hour. They are upserted, 64 per statement, and
   * never rolled up: a rollup of one value an hour holds nothing the row does not. Windowed queries read
   * their rows, and retention keeps them as long as the hourly rollups.
   */
  private writeDerived(b: EncodedBatch, indexes: number[]): void {
    const { strings, refs, ts, seq } = b;
    const params: unknown[] = [];
    for (const i of indexes) {
      const k = i * REFS_PER_READING;
      params.push(
        strings[refs[k + KIND]!],
        strings[refs[k + DEVICE]!],
        ts[i],
        strings[refs[k + GATEWAY]!],
        strings[refs[k + WARD]!],
        seq[i],
        valsOf(b, i),
      );
    }
    this.upsertDerived.runAll(params);
  }

  private noteNewest(newest: Map<number, number>, b: EncodedBatch, i: number): void {
    const k = i * REFS_PER_READING;
    const key = b.refs[k + KIND]! * b.strings.length + b.refs[k + DEVICE]!;
    const prev = newest.get(key);
    if (prev === undefined || b.ts[i]! >= b.ts[prev]!) newest.set(key, i);
  }

  private knownGatewayDevicePairs(): Set<string> {
    return (this.knownGatewayDevices ??= new Set(
      this.db
        .prepare<[], { gateway: string; kind: string; device: string }>('SELECT gateway, kind, device FROM gateway_device')
        .all()
        .map((r) => gatewayDeviceKey(r.gateway, r.kind, r.device)),
    ));
  }

  /** Adds the batch's new (gateway, kind, device) combinations to gateway_device; returns their keys. */
  private recordGatewayDevices(b: EncodedBatch): string[] {
    const { strings, refs } = b;
    const stride = strings.length;
    const known = this.knownGatewayDevicePairs();
    const inBatch = new Set<number>();
    const fresh: string[] = [];
    const params: string[] = [];
    for (let k = 0; k < refs.length; k += REFS_PER_READING) {
      const g = refs[k + GATEWAY]!;
      const kind = refs[k + KIND]!;
      const device = refs[k + DEVICE]!;
      const numeric = (g * stride + kind) * stride + device;
      if (inBatch.has(numeric)) continue;
      inBatch.add(numeric);
      const key = gatewayDeviceKey(strings[g]!, strings[kind]!, strings[device]!);
      if (known.has(key)) continue;
      fresh.push(key);
      params.push(strings[g]!, strings[kind]!, strings[device]!);
    }
    this.insertGatewayDevices.runAll(params);
    return fresh;
  }
}
