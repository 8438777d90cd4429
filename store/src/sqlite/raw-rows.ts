import type Database from 'better-sqlite3';
import { windowStart } from '../windows';
import { decodeBlock, decodeIdentities, encodeBlock, type BlockRow } from './block-codec';
import { BLOCK_MS } from './schema';

/** A stored reading of one (kind, device), wherever it lives: hot row, block or derived row. */
export type RawRow = BlockRow;

/** Orders a device's readings: by time, then by who produced them (two readings may share a timestamp). */
export const byTimeThenIdentity = (a: RawRow, b: RawRow): number =>
  a.ts - b.ts || (a.gateway < b.gateway ? -1 : a.gateway > b.gateway ? 1 : 0) || a.seq - b.seq;

type HotRow = { ts: number; gateway: string; ward: string; seq: number; vals: string };
const fromHot = (r: HotRow): RawRow => ({
  ts: r.ts,
  gateway: r.gateway,
  ward: r.ward,
  seq: r.seq,
  values: JSON.parse(r.vals) as Record<string, number>,
});

/** The compressed blocks of cold readings (reading_block): read, find a reading by identity, rewrite. */
export class ReadingBlocks {
  private stmts:
    | {
        range: Database.Statement<[string, string, number, number], { start: number; data: Buffer }>;
        one: Database.Statement<[string, string, number], Buffer>;
        bySeq: Database.Statement<[string, string, number, number], { start: number; data: Buffer }>;
      }
    | undefined;
  private writes:
    | {
        upsert: Database.Statement<[string, string, number, number, number, number, Buffer]>;
        remove: Database.Statement<[string, string, number]>;
      }
    | undefined;

  constructor(private readonly db: Database.Database) {}

  /**
   * Prepared on first use. A reader may open a file its writer has not upgraded to schema 4 yet: no blocks then, and
   * the next call tries again (the writer may have upgraded and compacted since; a remembered failure would hide
   * every compacted reading from this handle).
   */
  private reads() {
    if (this.stmts) return this.stmts;
    try {
      this.stmts = {
        range: this.db.prepare(
          'SELECT start, data FROM reading_block WHERE kind = ? AND device = ? AND start >= ? AND start <= ? ORDER BY start',
        ),
        one: this.db
          .prepare<[string, string, number], Buffer>('SELECT data FROM reading_block WHERE kind = ? AND device = ? AND start = ?')
          .pluck(),
        bySeq: this.db.prepare('SELECT start, data FROM reading_block WHERE kind = ? AND device = ? AND seq_min <= ? AND seq_max >= ?'),
      };
    } catch {
      return undefined;
    }
    return this.stmts;
  }

  /** The device's block readings with ts in [from, to], sorted. */
  rowsIn(kind: string, device: string, from: number, to: number): RawRow[] {
    const s = this.reads();
    if (!s) return [];
    const out: RawRow[] = [];
    for (const { data } of s.range.iterate(kind, device, windowStart(from, BLOCK_MS), to))
      for (const r of decodeBlock(data)) if (r.ts >= from && r.ts <= to) out.push(r);
    return out;
  }

  /** The seqs of `gateway`'s readings of the device with ts in [from, to] held in blocks (values not decoded). */
  seqsIn(kind: string, device: string, gateway: string, from: number, to: number): number[] {
    const s = this.reads();
    if (!s) return [];
    const out: number[] = [];
    for (const { data } of s.range.iterate(kind, device, windowStart(from, BLOCK_MS), to))
      for (const r of decodeIdentities(data)) if (r.ts >= from && r.ts <= to && r.gateway === gateway) out.push(r.seq);
    return out;
  }

  /** All readings of the block starting at `start` (empty if none). */
  block(kind: string, device: string, start: number): RawRow[] {
    const data = this.reads()?.one.get(kind, device, start);
    return data ? decodeBlock(data) : [];
  }

  /** The block holding the reading (gateway, seq) of the device, if one does. */
  find(kind: string, device: string, gateway: string, seq: number): { start: number; rows: RawRow[]; at: number } | undefined {
    const s = this.reads();
    if (!s) return undefined;
    for (const { start, data } of s.bySeq.iterate(kind, device, seq, seq)) {
      const rows = decodeBlock(data);
      const at = rows.findIndex((r) => r.seq === seq && r.gateway === gateway);
      if (at >= 0) return { start, rows, at };
    }
    return undefined;
  }

  /** Replaces the block starting at `start` by `rows` (sorted), or removes it when there are none. */
  put(kind: string, device: string, start: number, rows: RawRow[]): void {
    this.writes ??= {
      upsert: this.db.prepare(
        `INSERT INTO reading_block (kind, device, start, n, seq_min, seq_max, data) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, device, start) DO UPDATE SET n = excluded.n, seq_min = excluded.seq_min, seq_max = excluded.seq_max, data = excluded.data`,
      ),
      remove: this.db.prepare('DELETE FROM reading_block WHERE kind = ? AND device = ? AND start = ?'),
    };
    if (rows.length === 0) {
      this.writes.remove.run(kind, device, start);
      return;
    }
    let seqMin = Infinity;
    let seqMax = -Infinity;
    for (const r of rows) {
      if (r.seq < seqMin) seqMin = r.seq;
      if (r.seq > seqMax) seqMax = r.seq;
    }
    this.writes.upsert.run(kind, device, start, rows.length, seqMin, seqMax, encodeBlock(rows));
  }
}

/**
 * Every stored reading of a device in a time range, from the hot rows, the blocks and the derived rows, as one
 * sorted list. Callers read inside one transaction, so a compaction that moves rows from hot to a block is seen
 * entirely or not at all.
 */
export class RawRows {
  readonly blocks: ReadingBlocks;
  private readonly hot: Database.Statement<[string, string, number, number], HotRow>;
  private readonly hotSeqs: Database.Statement<[string, string, string, number, number], number>;
  private derivedStmt: Database.Statement<[string, string, number, number], HotRow> | undefined;

  constructor(private readonly db: Database.Database) {
    this.blocks = new ReadingBlocks(db);
    this.hot = db.prepare('SELECT ts, gateway, ward, seq, vals FROM reading WHERE kind = ? AND device = ? AND ts >= ? AND ts <= ?');
    // seq >= 0: a schema 3 file (read before its writer upgrades it) holds derived rows in this table too.
    this.hotSeqs = db
      .prepare<[string, string, string, number, number], number>(
        'SELECT seq FROM reading WHERE kind = ? AND device = ? AND gateway = ? AND ts >= ? AND ts <= ? AND seq >= 0',
      )
      .pluck();
  }

  /** As ReadingBlocks.reads: before schema 4 derived rows are in the reading table, and the next call tries again. */
  private derived() {
    if (!this.derivedStmt) {
      try {
        this.derivedStmt = this.db.prepare(
          'SELECT ts, gateway, ward, seq, vals FROM derived WHERE kind = ? AND device = ? AND ts >= ? AND ts <= ?',
        );
      } catch {
        return undefined;
      }
    }
    return this.derivedStmt;
  }

  /** The gateway's readings' seqs of the device with ts in [from, to] (derived rows, seq < 0, are not its readings). */
  seqs(kind: string, device: string, gateway: string, from: number, to: number): number[] {
    const out = this.blocks.seqsIn(kind, device, gateway, from, to);
    for (const seq of this.hotSeqs.iterate(kind, device, gateway, from, to)) out.push(seq);
    return out;
  }

  rows(kind: string, device: string, from: number, to: number): RawRow[] {
    const out = this.blocks.rowsIn(kind, device, from, to);
    for (const r of this.hot.iterate(kind, device, from, to)) out.push(fromHot(r));
    const derived = this.derived();
    if (derived) for (const r of derived.iterate(kind, device, from, to)) out.push(fromHot(r));
    return out.sort(byTimeThenIdentity);
  }
}
