import type Database from 'better-sqlite3';
import { DAY_MS, type RetentionConfig } from '../config';
import { windowStart } from '../windows';
import type { ReadingBlocks } from './raw-rows';
import { BLOCK_MS } from './schema';

export interface RetentionResult {
  raw: number;
  minute: number;
  hour: number;
  deadLetters: number;
}

/**
 * Deletes raw rows, rollups and dead letters older than their retention. One short transaction per device,
 * so the sweep never holds the write lock long enough to stall ingest. SQLite gives a new row the highest rowid
 * plus one: once the newest rows are gone, new rows could get rowids at or below the rollups' watermark, so the
 * watermark is lowered to the highest rowid left (every row left is counted already). Each source's cutoff is
 * recorded in the file (retention_cutoff), so every handle on it, read-only ones too, knows what is gone.
 * Compacted readings go with their blocks; the block the cutoff falls in is rewritten without its older readings.
 */
export class RetentionSweep {
  private readonly allDevices: Database.Statement<[], { kind: string; device: string; seq: number }>;
  private readonly expireRaw: Database.Statement<[string, string, number]>;
  private readonly expireMarks: Database.Statement<[string, string, number]>;
  private readonly expireDerived: Database.Statement<[string, string, number]>;
  private readonly expiredBlockRows: Database.Statement<[string, string, number], number | null>;
  private readonly expireBlocks: Database.Statement<[string, string, number]>;
  private readonly expireMinute: Database.Statement<[string, string, number]>;
  private readonly expireHour: Database.Statement<[string, string, number]>;
  private readonly expireDeadLetters: Database.Statement<[number]>;
  private readonly lowerWatermark: Database.Statement;
  private readonly recordCutoff: Database.Statement<[string, number]>;

  constructor(
    private readonly db: Database.Database,
    private readonly retention: RetentionConfig,
    private readonly blocks: ReadingBlocks,
  ) {
    this.allDevices = db.prepare('SELECT kind, device, seq FROM latest');
    this.expireRaw = db.prepare('DELETE FROM reading WHERE kind = ? AND device = ? AND ts < ?');
    this.expireMarks = db.prepare('DELETE FROM reading_clock WHERE kind = ? AND device = ? AND ts < ?');
    this.expireDerived = db.prepare('DELETE FROM derived WHERE kind = ? AND device = ? AND ts < ?');
    // Blocks that end before the hour the cutoff falls in.
    this.expiredBlockRows = db
      .prepare<[string, string, number], number | null>('SELECT sum(n) FROM reading_block WHERE kind = ? AND device = ? AND start < ?')
      .pluck();
    this.expireBlocks = db.prepare('DELETE FROM reading_block WHERE kind = ? AND device = ? AND start < ?');
    this.expireMinute = db.prepare('DELETE FROM rollup_1m WHERE kind = ? AND device = ? AND bucket < ?');
    this.expireHour = db.prepare('DELETE FROM rollup_1h WHERE kind = ? AND device = ? AND bucket < ?');
    this.expireDeadLetters = db.prepare('DELETE FROM dead_letter WHERE ts < ?');
    this.recordCutoff = db.prepare(
      'INSERT INTO retention_cutoff (source, cutoff) VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET cutoff = max(cutoff, excluded.cutoff)',
    );
    this.lowerWatermark = db.prepare('UPDATE rollup_state SET watermark = min(watermark, (SELECT coalesce(max(rowid), 0) FROM reading))');
  }

  /** Call with the rollups caught up, so no raw row leaves before it is counted in them. */
  apply(now: number): RetentionResult {
    const rawCutoff = now - this.retention.rawDays * DAY_MS;
    const minuteCutoff = now - this.retention.minuteDays * DAY_MS;
    const hourCutoff = now - this.retention.hourDays * DAY_MS;
    const result: RetentionResult = { raw: 0, minute: 0, hour: 0, deadLetters: 0 };
    // Recorded before the deletes: a query meanwhile reads the older part from the coarser source already.
    this.db.transaction(() => {
      this.recordCutoff.run('raw', rawCutoff);
      this.recordCutoff.run('rollup_1m', minuteCutoff);
      this.recordCutoff.run('rollup_1h', hourCutoff);
    })();
    for (const { kind, device, seq } of this.allDevices.all()) {
      this.db.transaction(() => {
        // A derived series' rows are its hourly history (it has no rollups): kept as long as hourly rollups.
        result.raw += this.expireDerived.run(kind, device, seq < 0 ? hourCutoff : rawCutoff).changes;
        result.raw += this.expireRaw.run(kind, device, rawCutoff).changes;
        this.expireMarks.run(kind, device, rawCutoff);
        result.raw += this.expireCompacted(kind, device, rawCutoff);
        result.minute += this.expireMinute.run(kind, device, minuteCutoff).changes;
        result.hour += this.expireHour.run(kind, device, hourCutoff).changes;
        this.lowerWatermark.run();
      })();
    }
    result.deadLetters = this.expireDeadLetters.run(rawCutoff).changes;
    return result;
  }

  private expireCompacted(kind: string, device: string, cutoff: number): number {
    const straddling = windowStart(cutoff, BLOCK_MS);
    let removed = this.expiredBlockRows.get(kind, device, straddling) ?? 0;
    this.expireBlocks.run(kind, device, straddling);
    const rows = this.blocks.block(kind, device, straddling);
    const kept = rows.filter((r) => r.ts >= cutoff);
    if (kept.length < rows.length) {
      this.blocks.put(kind, device, straddling, kept);
      removed += rows.length - kept.length;
    }
    return removed;
  }
}
