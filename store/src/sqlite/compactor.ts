import type Database from 'better-sqlite3';
import { windowStart } from '../windows';
import { blockable } from './block-codec';
import { byTimeThenIdentity, type RawRow, type ReadingBlocks } from './raw-rows';
import { BLOCK_MS } from './schema';

const seqKey = (kind: string, device: string, gateway: string): string => `${kind}\0${device}\0${gateway}`;

/**
 * The highest seq compacted per (kind, device, gateway) (table compacted_seq), kept in memory by the writer: a
 * reading above it cannot be in a block, so the write path looks into blocks only for redeliveries of old ones.
 */
export class CompactedSeqs {
  private map: Map<string, number> | undefined;
  private readonly raise: Database.Statement<[string, string, string, number]>;

  constructor(private readonly db: Database.Database) {
    this.raise = db.prepare(
      'INSERT INTO compacted_seq (kind, device, gateway, seq) VALUES (?, ?, ?, ?) ON CONFLICT (kind, device, gateway) DO UPDATE SET seq = max(seq, excluded.seq)',
    );
  }

  private all(): Map<string, number> {
    return (this.map ??= new Map(
      this.db
        .prepare<[], { kind: string; device: string; gateway: string; seq: number }>('SELECT kind, device, gateway, seq FROM compacted_seq')
        .all()
        .map((r) => [seqKey(r.kind, r.device, r.gateway), r.seq]),
    ));
  }

  highest(kind: string, device: string, gateway: string): number {
    return this.all().get(seqKey(kind, device, gateway)) ?? -1;
  }

  /** Inside the compaction's transaction; `forget` if it rolls back. */
  note(kind: string, device: string, gateway: string, seq: number): void {
    this.raise.run(kind, device, gateway, seq);
    const map = this.all();
    const key = seqKey(kind, device, gateway);
    if (seq > (map.get(key) ?? -1)) map.set(key, seq);
  }

  /** Drops the memory (reloaded from the table on next use), after a transaction that noted seqs rolled back. */
  forget(): void {
    this.map = undefined;
  }
}

/** Shortest time between two passes started for late rows alone. */
const LATE_PASS_MS = 10 * 60_000;

type ColdRow = [number, number, string, string, number, string];

/**
 * Moves cold hot rows into blocks: rows already folded into the rollups (rowid at or below the watermark) whose
 * hour ended more than an hour ago. A pass walks the devices (table latest) and takes each device's cold rows
 * at once, so a block is encoded once per pass, merged with the block already there for late arrivals. A pass
 * starts when the horizon moves on (every hour) or, at most every 10 minutes, after a write of rows already cold (`noteWritten`); each step
 * is one transaction over a bounded number of rows: readers see a reading in the hot table or in its block, never
 * both, never neither.
 */
export class Compactor {
  private pass: { devices: Array<{ kind: string; device: string }>; at: number; horizon: number } | undefined;
  private lastHorizon = -Infinity;
  private lastPassAt = -Infinity;
  /** Rows older than the last pass's horizon were written since (late arrivals, a file from before schema 4). */
  private lateRows = true;
  private readonly devices: Database.Statement<[], { kind: string; device: string }>;
  private readonly cold: Database.Statement<[string, string, number, number], ColdRow>;
  private readonly watermark: Database.Statement<[], number>;
  private readonly remove: Database.Statement<[number]>;
  private readonly removeCold: Database.Statement<[string, string, number, number]>;
  private readonly lowerWatermark: Database.Statement;
  private readonly stepTx: (maxRows: number) => number;

  constructor(
    db: Database.Database,
    private readonly blocks: ReadingBlocks,
    private readonly compacted: CompactedSeqs,
  ) {
    this.devices = db.prepare('SELECT kind, device FROM latest ORDER BY kind, device');
    this.cold = db
      .prepare('SELECT rowid, ts, gateway, ward, seq, vals FROM reading WHERE kind = ? AND device = ? AND ts < ? AND rowid <= ?')
      .raw(true) as unknown as Database.Statement<[string, string, number, number], ColdRow>;
    this.watermark = db.prepare<[], number>('SELECT watermark FROM rollup_state WHERE id = 1').pluck();
    this.remove = db.prepare('DELETE FROM reading WHERE rowid = ?');
    this.removeCold = db.prepare('DELETE FROM reading WHERE kind = ? AND device = ? AND ts < ? AND rowid <= ?');
    // As after retention: new rows take max(rowid) + 1, which must stay above the watermark.
    this.lowerWatermark = db.prepare('UPDATE rollup_state SET watermark = min(watermark, (SELECT coalesce(max(rowid), 0) FROM reading))');
    this.stepTx = db.transaction((maxRows: number) => this.compactSome(maxRows));
  }

  /**
   * Rows whose ts is below this are cold at `now`: their hour ended at least an hour ago. Call with the rollups
   * caught up: rows past the watermark are not taken (they would never be folded).
   */
  static horizon(now: number): number {
    return windowStart(now, BLOCK_MS) - BLOCK_MS;
  }

  /** After a write: a row older than the current horizon needs a pass of its own. */
  noteWritten(oldestTs: number): void {
    if (oldestTs < this.lastHorizon) this.lateRows = true;
  }

  /** One transaction of up to about `maxRows` rows; `done` when no pass is under way (nothing to do). */
  step(now: number, maxRows: number): { compacted: number; done: boolean } {
    const horizon = Compactor.horizon(now);
    if (!this.pass) {
      // Late rows wait for the next hourly pass or LATE_PASS_MS, whichever comes first: a gateway catching up
      // for hours must not make passes over every device run back to back.
      const late = this.lateRows && now - this.lastPassAt >= LATE_PASS_MS;
      if (horizon <= this.lastHorizon && !late) return { compacted: 0, done: true };
      this.pass = { devices: this.devices.all(), at: 0, horizon };
      this.lastHorizon = horizon;
      this.lastPassAt = now;
      this.lateRows = false;
    }
    let compacted: number;
    try {
      compacted = this.stepTx(maxRows);
    } catch (err) {
      this.compacted.forget();
      this.pass = undefined;
      this.lateRows = true;
      throw err;
    }
    if (this.pass.at >= this.pass.devices.length) this.pass = undefined;
    return { compacted, done: this.pass === undefined };
  }

  /** A whole pass now (tests, benchmarks, on demand): returns the rows compacted. */
  compactAll(now: number, maxRows = 20_000): number {
    this.pass = undefined;
    this.lateRows = true;
    this.lastPassAt = -Infinity;
    let total = 0;
    for (;;) {
      const { compacted, done } = this.step(now, maxRows);
      total += compacted;
      if (done) return total;
    }
  }

  private compactSome(maxRows: number): number {
    const pass = this.pass!;
    const watermark = this.watermark.get() ?? 0;
    let compacted = 0;
    while (pass.at < pass.devices.length && compacted < maxRows) {
      const { kind, device } = pass.devices[pass.at++]!;
      compacted += this.compactDevice(kind, device, pass.horizon, watermark);
    }
    if (compacted > 0) this.lowerWatermark.run();
    return compacted;
  }

  private compactDevice(kind: string, device: string, horizon: number, watermark: number): number {
    const groups = new Map<number, { rows: RawRow[]; rowids: number[] }>();
    let skipped = false;
    for (const [rowid, ts, gateway, ward, seq, vals] of this.cold.iterate(kind, device, horizon, watermark)) {
      if (!blockable(ts, seq)) {
        skipped = true; // stays hot (never seen from a gateway); retention removes it
        continue;
      }
      const start = windowStart(ts, BLOCK_MS);
      let g = groups.get(start);
      if (!g) groups.set(start, (g = { rows: [], rowids: [] }));
      g.rows.push({ ts, gateway, ward, seq, values: JSON.parse(vals) as Record<string, number> });
      g.rowids.push(rowid);
    }
    let compacted = 0;
    const highest = new Map<string, number>();
    for (const [start, g] of groups) {
      const merged = new Map<string, RawRow>();
      for (const r of this.blocks.block(kind, device, start)) merged.set(`${r.gateway}\0${r.seq}`, r);
      // A hot row and a block row of one identity do not both exist (the writer takes it out of the block first).
      for (const r of g.rows) {
        merged.set(`${r.gateway}\0${r.seq}`, r);
        if (r.seq > (highest.get(r.gateway) ?? -1)) highest.set(r.gateway, r.seq);
      }
      this.blocks.put(kind, device, start, [...merged.values()].sort(byTimeThenIdentity));
      if (skipped) for (const rowid of g.rowids) this.remove.run(rowid);
      compacted += g.rowids.length;
    }
    // The rows just read, in one statement (the same condition), unless some of them stay hot.
    if (!skipped && compacted > 0) this.removeCold.run(kind, device, horizon, watermark);
    for (const [gateway, seq] of highest) this.compacted.note(kind, device, gateway, seq);
    return compacted;
  }
}
