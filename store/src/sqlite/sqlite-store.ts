import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  asClockMark,
  type ColumnSeries,
  type DeadLetter,
  type LatestFilter,
  type RangeQuery,
  type Series,
  type StoredReading,
  type TimeSeriesStore,
} from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { retentionSchema, sqliteStoreConfigSchema, type SqliteStoreConfig } from '../config';
import { encodeBatch, type EncodedBatch } from './encoded-batch';
import { CompactedSeqs, Compactor } from './compactor';
import { HistoryReader } from './history-reader';
import { RawRows } from './raw-rows';
import { ReadingWriter, type WriteOutcome } from './reading-writer';
import { RetentionSweep, type RetentionResult } from './retention';
import { RollupMaintainer } from './rollup-maintainer';
import { createSchema } from './schema';

export type { RetentionResult } from './retention';

type Row = { kind: string; device: string; ts: number; gateway: string; ward: string; seq: number; vals: string; mark: string | null };

/** Raw rows one rollup step folds in one transaction: short enough that a write waiting behind it is not held long. */
const ROLLUP_STEP_ROWS = 20_000;
const DEFAULT_CACHE_MB = sqliteStoreConfigSchema.shape.cacheMb.parse(undefined);
/** Hot rows one compaction step moves into blocks in one transaction (whole devices, so about this many). */
const COMPACT_STEP_ROWS = 20_000;
const DEFAULT_ROLLUP_INTERVAL_MS = 1000;

export interface SqliteStoreOptions {
  logger?: Logger;
  readonly?: boolean;
}

/**
 * The embedded store: one SQLite file in WAL mode, so ingest writes while the dashboard (another process,
 * `readonly`) reads. Writes commit raw rows only (ReadingWriter); rollups at 1 min and 1 h are folded from the
 * committed rows by RollupMaintainer on a timer of the writer's thread, and queries add what it has not folded
 * yet (HistoryReader), so a committed batch is always seen, and a crash loses no rollup: they are rebuilt from
 * the raw rows past the watermark on the next open. Once folded and an hour or two old, raw rows are moved into
 * compressed per-device blocks by the Compactor on the same timer; every read takes hot rows and blocks alike.
 */
export class SqliteStore implements TimeSeriesStore {
  /** Synchronous: a write is complete when its call returns. */
  readonly writesInCallOrder = true;
  readonly db: Database.Database;
  private readonly readonly: boolean;
  private readonly log: Logger | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private firstSweep: NodeJS.Timeout | undefined;
  private rollupTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly reader: HistoryReader;
  private readonly writer: ReadingWriter | undefined;
  private readonly rollups: RollupMaintainer | undefined;
  private readonly retention: RetentionSweep | undefined;
  private readonly compactor: Compactor | undefined;
  private readonly raw: RawRows;
  private readonly writeBatchTx: ((batch: EncodedBatch) => WriteOutcome) | undefined;
  private readonly stmt;
  private gatewayDevices: Database.Statement<[string], { kind: string; device: string }> | undefined;
  private latestAll: Database.Statement<[], Row> | undefined;

  constructor(
    config: Omit<SqliteStoreConfig, 'type' | 'worker' | 'rollupIntervalMs' | 'cacheMb'> & {
      type?: 'sqlite';
      worker?: boolean;
      rollupIntervalMs?: number;
      cacheMb?: number;
      /** How long after open the timer starts compacting (default a minute). */
      compactAfterMs?: number;
    },
    opts: SqliteStoreOptions = {},
  ) {
    this.readonly = opts.readonly ?? false;
    this.log = opts.logger;
    const retention = config.retention ?? retentionSchema.parse({});
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    if (this.readonly && config.path !== ':memory:' && !existsSync(config.path)) {
      // A reader that starts before the writer: lay out the (empty) schema once, then open read-only.
      const init = new Database(config.path);
      init.pragma('journal_mode = WAL');
      createSchema(init);
      init.close();
    }
    this.db = new Database(config.path, { readonly: this.readonly, fileMustExist: this.readonly });
    // Waits for the other process's write lock instead of failing with SQLITE_BUSY.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma(`cache_size = ${-1024 * (config.cacheMb ?? DEFAULT_CACHE_MB)}`);
    if (!this.readonly) {
      this.db.pragma('journal_mode = WAL');
      // See config.ts `synchronous`: NORMAL survives a killed process, FULL survives power loss.
      this.db.pragma(`synchronous = ${config.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // A batch rewrites the same hot index pages; checkpointing every 40 MB of WAL instead of SQLite's 4 MB
      // copies each of them back once per many batches (less write CPU: bench/store).
      // After a checkpoint the WAL file is cut back to 64 MB, so it cannot keep what a long read made it grow to.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      createSchema(this.db);
    }
    const db = this.db;
    this.reader = new HistoryReader(db);
    this.raw = new RawRows(db);
    this.stmt = {
      deadLetters: db.prepare<
        [number, number, number],
        { ts: number; topic: string; gateway: string | null; device: string | null; reason: string; raw: string }
      >('SELECT ts, topic, gateway, device, reason, raw FROM dead_letter WHERE ts >= ? AND ts <= ? ORDER BY ts DESC, id DESC LIMIT ?'),
      insertDeadLetter: this.readonly
        ? undefined
        : db.prepare('INSERT INTO dead_letter (ts, topic, gateway, device, reason, raw) VALUES (?, ?, ?, ?, ?, ?)'),
    };
    this.log?.info({ path: config.path, readonly: this.readonly, synchronous: config.synchronous }, 'SQLite store open');
    if (this.readonly) return;
    const compacted = new CompactedSeqs(db);
    const writer = (this.writer = new ReadingWriter(db, this.raw.blocks, compacted));
    this.writeBatchTx = db.transaction((batch: EncodedBatch) => writer.write(batch));
    this.rollups = new RollupMaintainer(db, this.raw);
    this.retention = new RetentionSweep(db, retention, this.raw.blocks);
    this.compactor = new Compactor(db, this.raw.blocks, compacted);
    // Rollups: the first step at once (rows a crash left behind), then every rollupIntervalMs.
    const rollupIntervalMs = config.rollupIntervalMs ?? DEFAULT_ROLLUP_INTERVAL_MS;
    // Compaction from a minute after open, as retention: opening (a service start, a test) is not slowed by it.
    const compactFrom = Date.now() + (config.compactAfterMs ?? 60_000);
    const rollupTick = () => {
      this.rollupTimer = undefined;
      if (this.closed) return;
      try {
        // One bounded step per turn of the event loop: writes waiting on this thread go in between. Compaction only
        // once every committed row is folded (it takes rows at or below the watermark).
        const { caughtUp } = this.rollups!.step(ROLLUP_STEP_ROWS);
        const idle = caughtUp && (Date.now() < compactFrom || this.compactor!.step(Date.now(), COMPACT_STEP_ROWS).done);
        this.rollupTimer = idle ? setTimeout(rollupTick, rollupIntervalMs) : setTimeout(rollupTick, 0);
      } catch (err) {
        this.log?.error({ err }, 'rollup step failed');
        this.rollupTimer = setTimeout(rollupTick, rollupIntervalMs);
      }
      this.rollupTimer.unref();
    };
    this.rollupTimer = setTimeout(rollupTick, 0);
    this.rollupTimer.unref();
    const sweep = () => {
      try {
        const removed = this.applyRetention();
        this.log?.debug({ removed }, 'retention sweep');
      } catch (err) {
        this.log?.error({ err }, 'retention sweep failed');
      }
    };
    // The first sweep soon after open, so a service restarted more often than intervalMs still sweeps.
    this.firstSweep = setTimeout(
      () => {
        sweep();
        this.retentionTimer = setInterval(sweep, retention.intervalMs);
        this.retentionTimer.unref();
      },
      Math.min(60_000, retention.intervalMs),
    );
    this.firstSweep.unref();
  }

  async writeBatch(readings: StoredReading[]): Promise<void> {
    this.writeEncoded(encodeBatch(readings));
  }

  /** writeBatch for a batch its caller already encoded (SqliteWorkerStore encodes on the caller's thread). */
  writeEncoded(batch: EncodedBatch): void {
    this.assertWritable();
    if (batch.count === 0) return;
    const { fresh, inserted } = this.writeBatchTx!(batch);
    this.writer!.committed(fresh);
    if (inserted) this.rollups!.foldInserted(batch, inserted);
    let oldest = Infinity;
    for (let i = 0; i < batch.count; i++) if (batch.ts[i]! < oldest) oldest = batch.ts[i]!;
    this.compactor!.noteWritten(oldest);
  }

  /**
   * Moves every raw row that is folded into the rollups and older than the hot window (its hour ended over an
   * hour before `now`) into its device's block now (otherwise done in steps on the rollup timer). Returns the
   * rows moved.
   */
  compact(now = Date.now()): number {
    this.assertWritable();
    this.rollups!.catchUp(ROLLUP_STEP_ROWS);
    return this.compactor!.compactAll(now, COMPACT_STEP_ROWS);
  }

  /** Raw rows folded into the rollups since open, by where they were read from (the table, or the batch that wrote them). */
  rollupFolds(): { fromTable: number; fromBatches: number } {
    return { ...this.rollups!.folded };
  }

  /** Folds every committed raw row into the rollups now (they are otherwise folded on a timer). */
  catchUpRollups(): void {
    this.assertWritable();
    this.rollups!.catchUp(ROLLUP_STEP_ROWS);
  }

  async query(q: RangeQuery): Promise<Series[]> {
    return this.reader.query(q);
  }

  async queryColumns(q: RangeQuery): Promise<ColumnSeries[]> {
    return this.reader.queryColumns(q);
  }

  async latest(filter: LatestFilter = {}): Promise<StoredReading[]> {
    const devices = filter.devices ? new Set(filter.devices) : undefined;
    return this.latestStatement()
      .all()
      .filter(
        (r) =>
          (filter.kind === undefined || r.kind === filter.kind) &&
          (filter.ward === undefined || r.ward === filter.ward) &&
          (!devices || devices.has(r.device)),
      )
      .map((r) => {
        const clock = asClockMark(r.mark);
        return {
          kind: r.kind,
          device: r.device,
          gateway: r.gateway,
          ward: r.ward,
          ts: r.ts,
          seq: r.seq,
          values: JSON.parse(r.vals) as Record<string, number>,
          ...(clock ? { clock } : {}),
        };
      });
  }

  /**
   * The newest reading per device with its clock mark (reading_clock, found by the reading's full key). Prepared on
   * first use, and without marks on a file whose writer has not given it reading_clock yet (a read-only reader).
   */
  private latestStatement(): Database.Statement<[], Row> {
    if (this.latestAll) return this.latestAll;
    try {
      this.latestAll = this.db.prepare<[], Row>(
        `SELECT l.kind, l.device, l.ts, l.gateway, l.ward, l.seq, l.vals, c.mark FROM latest l
         LEFT JOIN reading_clock c ON c.kind = l.kind AND c.device = l.device AND c.ts = l.ts AND c.gateway = l.gateway AND c.seq = l.seq
         ORDER BY l.kind, l.device`,
      );
    } catch {
      return this.db.prepare<[], Row>('SELECT *, NULL AS mark FROM latest ORDER BY kind, device');
    }
    return this.latestAll;
  }

  async writeDeadLetters(letters: DeadLetter[]): Promise<void> {
    this.assertWritable();
    const insert = this.stmt.insertDeadLetter!;
    this.db.transaction(() => {
      for (const l of letters) insert.run(l.ts, l.topic, l.gateway, l.device, l.reason, l.raw);
    })();
  }

  /** Newest first. */
  async deadLetters(opts: { from?: number; to?: number; limit?: number } = {}): Promise<DeadLetter[]> {
    return this.stmt.deadLetters.all(opts.from ?? 0, opts.to ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 100);
  }

  /** `from`/`to` bound the readings' timestamps (epoch ms, inclusive). */
  async sequences(gateway: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<number[]> {
    // Prepared on first use: a reader may open a file its writer has not upgraded to gateway_device yet.
    this.gatewayDevices ??= this.db.prepare<[string], { kind: string; device: string }>(
      'SELECT kind, device FROM gateway_device WHERE gateway = ?',
    );
    const seqs: number[] = [];
    // One read transaction: a compaction between two devices' reads would otherwise move rows out of sight.
    this.db.transaction(() => {
      for (const { kind, device } of this.gatewayDevices!.all(gateway))
        for (const seq of this.raw.seqs(kind, device, gateway, from, to)) seqs.push(seq);
    })();
    return seqs.sort((a, b) => a - b);
  }

  /** Deletes what is older than its retention (retention.ts), after folding every raw row into the rollups. */
  applyRetention(now = Date.now()): RetentionResult {
    this.assertWritable();
    this.rollups!.catchUp(ROLLUP_STEP_ROWS);
    return this.retention!.apply(now);
  }

  private assertWritable(): void {
    if (this.closed) throw new Error('store is closed');
    if (this.readonly) throw new Error('store was opened read-only');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // A clean shutdown leaves the rollups complete (a crash leaves that to the next open).
    if (!this.readonly) this.rollups!.catchUp(ROLLUP_STEP_ROWS);
    this.closed = true;
    clearTimeout(this.rollupTimer);
    clearTimeout(this.firstSweep);
    clearInterval(this.retentionTimer);
    this.db.close();
  }
}
