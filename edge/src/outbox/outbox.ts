import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ClockMark } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';

export interface OutboxOptions {
  path: string;
  maxReadings: number;
  maxAgeMs: number;
  synchronous: 'full' | 'normal';
  now: () => number;
}

export interface TelemetryRow {
  seq: number;
  device: string;
  ts: number;
  vals: string;
  /** protocol readingSchema `clock`; null when the clock was synchronised and steady. */
  clock: ClockMark | null;
  era: number;
}

/** A reading to commit: `vals` is its values as JSON. */
export interface NewReading {
  device: string;
  ts: number;
  vals: string;
  clock?: ClockMark;
  era?: number;
}

export type MessageKind = 'event' | 'cmd-result';

export interface MessageRow {
  id: number;
  kind: MessageKind;
  payload: string;
}

export interface OutboxStats {
  depth: number;
  oldestTs: number | null;
  bytes: number;
  dropped: number;
}

/**
 * Durable store-and-forward queue in SQLite (WAL). A reading is committed here, with its gateway-wide
 * sequence number, before anything tries to publish it, and is deleted only when the broker has
 * acknowledged it (PUBACK). AUTOINCREMENT keeps sequence numbers monotonic across restarts even when
 * the table is empty.
 *
 * Bounds: telemetry beyond `maxReadings` or older than `maxAgeMs` is dropped oldest first and counted
 * (the count is persisted and reported in health). Events and command results live in their own
 * table and are never dropped: they are few, and an operator acting on them needs every one.
 */
export class Outbox {
  private readonly db: Database.Database;
  private telemetryCount: number;
  private messageCount: number;
  private droppedCount: number;
  private readonly stmt;

  constructor(
    private readonly opts: OutboxOptions,
    private readonly log: Logger,
  ) {
    mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS telemetry (seq INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, ts INTEGER NOT NULL, vals TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS telemetry_ts ON telemetry (ts);
      CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta (key, value) VALUES ('dropped', 0), ('era', 0), ('last_ts', 0);
    `);
    // Outboxes from before clock marks: the columns are added in place (rows keep era 0, no mark).
    const columns = new Set((this.db.prepare('PRAGMA table_info(telemetry)').all() as Array<{ name: string }>).map((c) => c.name));
    if (!columns.has('clock')) this.db.exec('ALTER TABLE telemetry ADD COLUMN clock TEXT');
    if (!columns.has('era')) this.db.exec('ALTER TABLE telemetry ADD COLUMN era INTEGER NOT NULL DEFAULT 0');
    this.stmt = {
      insertReading: this.db.prepare<[string, number, string, string | null, number]>(
        'INSERT INTO telemetry (device, ts, vals, clock, era) VALUES (?, ?, ?, ?, ?)',
      ),
      setMeta: this.db.prepare<[number, string]>('UPDATE meta SET value = ? WHERE key = ?'),
      getMeta: this.db.prepare<[string]>('SELECT value FROM meta WHERE key = ?'),
      moveUnsent: this.db.prepare<[number, number, number]>("UPDATE telemetry SET ts = ts + ?, clock = 'corrected', era = ? WHERE seq > ?"),
      newestUnsent: this.db.prepare<[number]>('SELECT device, MAX(ts) AS ts FROM telemetry WHERE seq > ? GROUP BY device'),
      maxSeq: this.db.prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'telemetry'), 0) AS seq"),
      insertMessage: this.db.prepare<[string, string]>('INSERT INTO messages (kind, payload) VALUES (?, ?)'),
      nextTelemetry: this.db.prepare<[number, number]>(
        'SELECT seq, device, ts, vals, clock, era FROM telemetry WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      nextMessages: this.db.prepare<[number, number]>('SELECT id, kind, payload FROM messages WHERE id > ? ORDER BY id LIMIT ?'),
      ackTelemetry: this.db.prepare<[number, number]>('DELETE FROM telemetry WHERE seq BETWEEN ? AND ?'),
      ackMessage: this.db.prepare<[number]>('DELETE FROM messages WHERE id = ?'),
      dropOldest: this.db.prepare<[number]>('DELETE FROM telemetry WHERE seq IN (SELECT seq FROM telemetry ORDER BY seq LIMIT ?)'),
      dropOlderThan: this.db.prepare<[number]>('DELETE FROM telemetry WHERE ts < ?'),
      addDropped: this.db.prepare<[number]>("UPDATE meta SET value = value + ? WHERE key = 'dropped'"),
      oldest: this.db.prepare('SELECT ts FROM telemetry ORDER BY seq LIMIT 1'),
    };
    this.telemetryCount = (this.db.prepare('SELECT COUNT(*) AS n FROM telemetry').get() as { n: number }).n;
    this.messageCount = (this.db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
    this.droppedCount = (this.db.prepare("SELECT value FROM meta WHERE key = 'dropped'").get() as { value: number }).value;
    this.pruneByAge();
  }

  /** Commits one reading and returns its sequence number. */
  addReading(device: string, ts: number, vals: string): number {
    return this.addReadings([{ device, ts, vals }])[0]!;
  }

  /**
   * Commits readings in one transaction (one fsync), enforcing the size bound. `clockState`, when given,
   * commits with them (the clock era and newest timestamp the next run starts from).
   */
  addReadings(readings: NewReading[], clockState?: { era: number; lastTs: number }): number[] {
    const run = this.db.transaction(() => {
      const seqs = readings.map((r) =>
        Number(this.stmt.insertReading.run(r.device, r.ts, r.vals, r.clock ?? null, r.era ?? 0).lastInsertRowid),
      );
      if (clockState) this.saveClock(clockState);
      this.telemetryCount += readings.length;
      const excess = this.telemetryCount - this.opts.maxReadings;
      if (excess > 0) this.drop(this.stmt.dropOldest.run(excess).changes, 'size');
      return seqs;
    });
    return run();
  }

  /** The clock era and newest timestamp saved by the previous run (0, 0 for a new outbox). */
  clockState(): { era: number; lastTs: number } {
    const get = (key: string) => (this.stmt.getMeta.get(key) as { value: number } | undefined)?.value ?? 0;
    return { era: get('era'), lastTs: get('last_ts') };
  }

  saveClock(state: { era: number; lastTs: number }): void {
    this.stmt.setMeta.run(state.era, 'era');
    this.stmt.setMeta.run(state.lastTs, 'last_ts');
  }

  /** The highest seq ever assigned (0 for a new outbox): rows up to it may have been published by an earlier run. */
  maxSeq(): number {
    return (this.stmt.maxSeq.get() as { seq: number }).seq;
  }

  /**
   * After a clock step: readings never published (seq > `afterSeq`) move by `deltaMs` onto the new clock,
   * marked corrected, in `era`. Returns each moved device's newest timestamp. A row that may have been
   * published keeps its time, so a resend of it is the same reading.
   */
  moveUnsent(afterSeq: number, deltaMs: number, era: number): Array<[string, number]> {
    return this.db.transaction(() => {
      if (this.stmt.moveUnsent.run(deltaMs, era, afterSeq).changes === 0) return [];
      return (this.stmt.newestUnsent.all(afterSeq) as Array<{ device: string; ts: number }>).map((r): [string, number] => [r.device, r.ts]);
    })();
  }

  /**
   * Runs `fn` in one transaction on the outbox's database, so a caller's own bookkeeping kept beside the
   * outbox (the LoRaWAN connector's de-duplication ledger) commits atomically with the rows it adds.
   */
  transaction<T>(fn: (db: Database.Database) => T): T {
    return this.db.transaction(() => fn(this.db))();
  }

  addMessage(kind: MessageKind, payload: unknown): number {
    const id = Number(this.stmt.insertMessage.run(kind, JSON.stringify(payload)).lastInsertRowid);
    this.messageCount++;
    return id;
  }

  nextTelemetry(afterSeq: number, limit: number): TelemetryRow[] {
    return this.stmt.nextTelemetry.all(afterSeq, limit) as TelemetryRow[];
  }

  nextMessages(afterId: number, limit: number): MessageRow[] {
    return this.stmt.nextMessages.all(afterId, limit) as MessageRow[];
  }

  ackTelemetry(fromSeq: number, toSeq: number): void {
    this.telemetryCount -= this.stmt.ackTelemetry.run(fromSeq, toSeq).changes;
  }

  ackMessage(id: number): void {
    this.messageCount -= this.stmt.ackMessage.run(id).changes;
  }

  depth(): number {
    return this.telemetryCount + this.messageCount;
  }

  pruneByAge(): void {
    const changes = this.stmt.dropOlderThan.run(this.opts.now() - this.opts.maxAgeMs).changes;
    if (changes > 0) this.drop(changes, 'age');
  }

  stats(): OutboxStats {
    let bytes = 0;
    for (const suffix of ['', '-wal']) {
      try {
        bytes += statSync(this.opts.path + suffix).size;
      } catch {
        // no WAL file yet
      }
    }
    const oldest = this.stmt.oldest.get() as { ts: number } | undefined;
    return { depth: this.depth(), oldestTs: oldest?.ts ?? null, bytes, dropped: this.droppedCount };
  }

  close(): void {
    this.db.close();
  }

  private drop(n: number, why: 'size' | 'age'): void {
    if (n <= 0) return;
    this.telemetryCount -= n;
    this.droppedCount += n;
    this.stmt.addDropped.run(n);
    this.log.warn({ dropped: n, why, totalDropped: this.droppedCount }, 'outbox full: dropped oldest telemetry');
  }
}
