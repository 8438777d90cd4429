import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DeadLetter, LatestFilter, RangeQuery, Series, StoredReading, TimeSeriesStore } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { DAY_MS, retentionSchema, type RetentionConfig, type SqliteStoreConfig } from '../config';
import { addValue, emptyAccumulator, finish, mergeAccumulator, windowStart, type Accumulator } from '../windows';
import { DEVICE, encodeBatch, GATEWAY, KIND, REFS_PER_READING, valsOf, WARD, type EncodedBatch } from './encoded-batch';
import { MultiRowStatement } from './multi-row';
import { ROLLUPS, createSchema, type RollupTable } from './schema';

/** Readings per multi-row INSERT; a chunk holding a reading already stored is redone row by row. */
const INSERT_CHUNK = 64;
const ROLLUP_CHUNK = 64;

type Row = { kind: string; device: string; ts: number; gateway: string; ward: string; seq: number; vals: string };
type RollupRow = { bucket: number; ward: string; count: number; sum: number; min: number; max: number; last: number; last_ts: number };

interface RollupDelta {
  bucket: number;
  ward: string;
  acc: Accumulator;
}

/** The rollup deltas of one series (kind, device, field) in a batch; its readings mostly arrive in time order, hence `last`. */
interface SeriesDeltas {
  kind: string;
  device: string;
  field: string;
  byTable: Array<{ table: RollupTable; ms: number; buckets: Map<number, RollupDelta>; last: RollupDelta | undefined }>;
}

const gatewayDeviceKey = (gateway: string, kind: string, device: string): string => `${gateway}\0${kind}\0${device}`;

export interface RetentionResult {
  raw: number;
  minute: number;
  hour: number;
  deadLetters: number;
}

export interface SqliteStoreOptions {
  logger?: Logger;
  readonly?: boolean;
}

/**
 * The embedded store: one SQLite file in WAL mode, so ingest writes while the dashboard (another
 * process, `readonly`) reads. Rollups at 1 min and 1 h are maintained inside the same transaction as
 * the raw rows, so a committed batch is always consistent with its rollups.
 */
export class SqliteStore implements TimeSeriesStore {
  /** Synchronous: a write is complete when its call returns. */
  readonly writesInCallOrder = true;
  readonly db: Database.Database;
  private readonly readonly: boolean;
  private readonly retention: RetentionConfig;
  private readonly log: Logger | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private firstSweep: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly stmt;
  private readonly writeBatchTx: (batch: EncodedBatch) => string[];
  private gatewayDevices: Database.Statement<[string], { kind: string; device: string }> | undefined;
  /** (gateway, kind, device) rows known to be in gateway_device (loaded on the first write): most batches add none. */
  private knownGatewayDevices: Set<string> | undefined;

  constructor(config: Omit<SqliteStoreConfig, 'type' | 'worker'> & { type?: 'sqlite'; worker?: boolean }, opts: SqliteStoreOptions = {}) {
    this.readonly = opts.readonly ?? false;
    this.log = opts.logger;
    this.retention = config.retention ?? retentionSchema.parse({});
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
    if (!this.readonly) {
      this.db.pragma('journal_mode = WAL');
      // See config.ts `synchronous`: NORMAL survives a killed process, FULL survives power loss.
      this.db.pragma(`synchronous = ${config.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // A batch rewrites the same hot index and rollup pages; checkpointing every 40 MB of WAL instead of
      // SQLite's 4 MB copies each of them back once per many batches (less write CPU: bench/store).
      // After a checkpoint the WAL file is cut back to 64 MB, so it cannot keep what a long read made it grow to.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      createSchema(this.db);
    }
    const db = this.db;
    const rollupStmts = (table: RollupTable) => ({
      select: db.prepare<[string, string, string, number, number], RollupRow>(
        `SELECT bucket, ward, count, sum, min, max, last, last_ts FROM ${table} WHERE kind = ? AND device = ? AND field = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket`,
      ),
      ...(this.readonly
        ? {}
        : {
            upsert: db.prepare(
              `INSERT INTO ${table} (kind, device, field, bucket, ward, count, sum, min, max, last, last_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (kind, device, field, bucket) DO UPDATE SET
                 count = count + excluded.count, sum = sum + excluded.sum,
                 min = min(min, excluded.min), max = max(max, excluded.max),
                 last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
                 ward = CASE WHEN excluded.last_ts >= last_ts THEN excluded.ward ELSE ward END,
                 last_ts = max(last_ts, excluded.last_ts)`,
            ),
            upsertMany: new MultiRowStatement(
              db,
              `INSERT INTO ${table} (kind, device, field, bucket, ward, count, sum, min, max, last, last_ts)`,
              11,
              ROLLUP_CHUNK,
              `ON CONFLICT (kind, device, field, bucket) DO UPDATE SET
                 count = count + excluded.count, sum = sum + excluded.sum,
                 min = min(min, excluded.min), max = max(max, excluded.max),
                 last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
                 ward = CASE WHEN excluded.last_ts >= last_ts THEN excluded.ward ELSE ward END,
                 last_ts = max(last_ts, excluded.last_ts)`,
            ),
            deleteWindow: db.prepare(`DELETE FROM ${table} WHERE kind = ? AND device = ? AND bucket = ?`),
            expire: db.prepare(`DELETE FROM ${table} WHERE kind = ? AND device = ? AND bucket < ?`),
          }),
    });
    this.stmt = {
      rollup: { rollup_1m: rollupStmts('rollup_1m'), rollup_1h: rollupStmts('rollup_1h') },
      devicesOfKind: db.prepare<[string], { device: string }>('SELECT device FROM latest WHERE kind = ?'),
      allDevices: db.prepare<[], { kind: string; device: string; seq: number }>('SELECT kind, device, seq FROM latest'),
      kindSeq: db.prepare<[string], number>('SELECT seq FROM latest WHERE kind = ? LIMIT 1').pluck(),
      rawRange: db.prepare<[string, string, number, number], Pick<Row, 'ts' | 'ward' | 'vals'>>(
        'SELECT ts, ward, vals FROM reading WHERE kind = ? AND device = ? AND ts >= ? AND ts <= ? ORDER BY ts',
      ),
      latestAll: db.prepare<[], Row>('SELECT * FROM latest ORDER BY kind, device'),
      deviceSequences: db
        .prepare<[string, string, number, number, string], number>(
          'SELECT seq FROM reading WHERE kind = ? AND device = ? AND ts >= ? AND ts <= ? AND gateway = ? AND seq >= 0',
        )
        .pluck(),
      deadLetters: db.prepare<
        [number, number, number],
        { ts: number; topic: string; gateway: string | null; device: string | null; reason: string; raw: string }
      >('SELECT ts, topic, gateway, device, reason, raw FROM dead_letter WHERE ts >= ? AND ts <= ? ORDER BY ts DESC, id DESC LIMIT ?'),
      ...(this.readonly
        ? {}
        : {
            insertReading: db.prepare(
              'INSERT OR IGNORE INTO reading (kind, device, ts, gateway, ward, seq, vals) VALUES (?, ?, ?, ?, ?, ?, ?)',
            ),
            insertReadings: new MultiRowStatement(
              db,
              'INSERT OR IGNORE INTO reading (kind, device, ts, gateway, ward, seq, vals)',
              7,
              INSERT_CHUNK,
            ),
            savepoint: db.prepare('SAVEPOINT chunk'),
            rollbackSavepoint: db.prepare('ROLLBACK TO chunk'),
            releaseSavepoint: db.prepare('RELEASE chunk'),
            // Changes only when something differs: 0 changes is a plain redelivery, 1 a rewrite whose windows need recomputing.
            rewriteReading: db.prepare(
              'UPDATE reading SET gateway = ?, ward = ?, seq = ?, vals = ? WHERE kind = ? AND device = ? AND ts = ? AND (gateway IS NOT ? OR ward IS NOT ? OR seq IS NOT ? OR vals IS NOT ?)',
            ),
            upsertLatest: db.prepare(
              `INSERT INTO latest (kind, device, ts, gateway, ward, seq, vals) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (kind, device) DO UPDATE SET ts = excluded.ts, gateway = excluded.gateway, ward = excluded.ward, seq = excluded.seq, vals = excluded.vals
               WHERE excluded.ts >= latest.ts`,
            ),
            upsertDerived: new MultiRowStatement(
              db,
              'INSERT INTO reading (kind, device, ts, gateway, ward, seq, vals)',
              7,
              INSERT_CHUNK,
              'ON CONFLICT (kind, device, ts) DO UPDATE SET gateway = excluded.gateway, ward = excluded.ward, seq = excluded.seq, vals = excluded.vals',
            ),
            insertGatewayDevices: new MultiRowStatement(db, 'INSERT OR IGNORE INTO gateway_device (gateway, kind, device)', 3, 200),
            insertDeadLetter: db.prepare('INSERT INTO dead_letter (ts, topic, gateway, device, reason, raw) VALUES (?, ?, ?, ?, ?, ?)'),
            expireRaw: db.prepare('DELETE FROM reading WHERE kind = ? AND device = ? AND ts < ?'),
            expireDeadLetters: db.prepare('DELETE FROM dead_letter WHERE ts < ?'),
          }),
    };
    this.log?.info({ path: config.path, readonly: this.readonly, synchronous: config.synchronous }, 'SQLite store open');
    this.writeBatchTx = this.db.transaction((batch: EncodedBatch) => this.writeInTransaction(batch));
    if (!this.readonly) {
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
          this.retentionTimer = setInterval(sweep, this.retention.intervalMs);
          this.retentionTimer.unref();
        },
        Math.min(60_000, this.retention.intervalMs),
      );
      this.firstSweep.unref();
    }
  }

  async writeBatch(readings: StoredReading[]): Promise<void> {
    this.writeEncoded(encodeBatch(readings));
  }

  /** writeBatch for a batch its caller already encoded (SqliteWorkerStore encodes on the caller's thread). */
  writeEncoded(batch: EncodedBatch): void {
    this.assertWritable();
    if (batch.count === 0) return;
    const fresh = this.writeBatchTx(batch);
    // Remembered only once committed: a rolled-back batch added nothing.
    for (const key of fresh) this.knownGatewayDevicePairs().add(key);
  }

  private knownGatewayDevicePairs(): Set<string> {
    return (this.knownGatewayDevices ??= new Set(
      this.db
        .prepare<[], { gateway: string; kind: string; device: string }>('SELECT gateway, kind, device FROM gateway_device')
        .all()
        .map((r) => gatewayDeviceKey(r.gateway, r.kind, r.device)),
    ));
  }

  /**
   * Readings go in by multi-row INSERT, INSERT_CHUNK at a time. A chunk in which some reading was already
   * stored (a redelivery, a derived value rewritten) is rolled back to its savepoint and redone row by row,
   * so only rows really inserted feed the rollup deltas; a rewrite with different values marks its windows
   * for recomputation from the raw rows instead, so a redelivered reading is never counted twice.
   * Deltas are summed in JS per (table, kind, device, field, bucket) and upserted once each, many per statement.
   */
  private writeInTransaction(b: EncodedBatch): string[] {
    const s = this.stmt;
    const { strings, refs, ts, seq } = b;
    const stride = strings.length;
    const series = new Map<number, SeriesDeltas>();
    const dirty = new Map<string, { kind: string; device: string; table: RollupTable; ms: number; bucket: number }>();
    /** Per (kind, device): the index of its newest reading in the batch. */
    const newest = new Map<number, number>();
    const params: unknown[] = [];
    // Derived values (seq < 0) apart: see upsertDerived.
    const raw: number[] = [];
    const derived: number[] = [];
    for (let i = 0; i < b.count; i++) (seq[i]! < 0 ? derived : raw).push(i);
    const vals = new Array<string>(INSERT_CHUNK);
    for (let start = 0; start < raw.length; start += INSERT_CHUNK) {
      const end = Math.min(raw.length, start + INSERT_CHUNK);
      params.length = 0;
      for (let n = start; n < end; n++) {
        const i = raw[n]!;
        const k = i * REFS_PER_READING;
        const v = valsOf(b, i);
        vals[n - start] = v;
        params.push(
          strings[refs[k + KIND]!],
          strings[refs[k + DEVICE]!],
          ts[i],
          strings[refs[k + GATEWAY]!],
          strings[refs[k + WARD]!],
          seq[i],
          v,
        );
      }
      s.savepoint!.run();
      const allNew = s.insertReadings!.run(params) === end - start;
      if (!allNew) s.rollbackSavepoint!.run();
      s.releaseSavepoint!.run();
      for (let n = start; n < end; n++) {
        const i = raw[n]!;
        const k = i * REFS_PER_READING;
        if (!allNew) {
          const kind = strings[refs[k + KIND]!]!;
          const device = strings[refs[k + DEVICE]!]!;
          const gateway = strings[refs[k + GATEWAY]!]!;
          const ward = strings[refs[k + WARD]!]!;
          const v = vals[n - start]!;
          if (s.insertReading!.run(kind, device, ts[i], gateway, ward, seq[i], v).changes === 1) {
            // inserted: counted below like the rows of an all-new chunk
          } else if (s.rewriteReading!.run(gateway, ward, seq[i], v, kind, device, ts[i], gateway, ward, seq[i], v).changes === 1) {
            for (const { table, ms } of ROLLUPS) {
              const bucket = windowStart(ts[i]!, ms);
              dirty.set(`${table}\0${kind}\0${device}\0${bucket}`, { kind, device, table, ms, bucket });
            }
            this.noteNewest(newest, b, i);
            continue;
          } else continue; // plain redelivery
        }
        this.addDeltas(series, b, i, stride);
        this.noteNewest(newest, b, i);
      }
    }
    if (derived.length > 0) this.upsertDerived(b, derived, newest);
    for (const { table } of ROLLUPS) {
      params.length = 0;
      for (const sd of series.values()) {
        for (const t of sd.byTable) {
          if (t.table !== table) continue;
          for (const d of t.buckets.values()) {
            const a = d.acc;
            params.push(sd.kind, sd.device, sd.field, d.bucket, d.ward, a.count, a.sum, a.min, a.max, a.last, a.lastTs);
          }
        }
      }
      s.rollup[table].upsertMany!.runAll(params);
    }
    for (const w of dirty.values()) this.recomputeWindow(w.table, w.ms, w.kind, w.device, w.bucket);
    for (const i of newest.values()) {
      const k = i * REFS_PER_READING;
      s.upsertLatest!.run(
        strings[refs[k + KIND]!],
        strings[refs[k + DEVICE]!],
        ts[i],
        strings[refs[k + GATEWAY]!],
        strings[refs[k + WARD]!],
        seq[i],
        valsOf(b, i),
      );
    }
    return this.recordGatewayDevices(b);
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
    this.stmt.insertGatewayDevices!.runAll(params);
    return fresh;
  }

  /**
   * Derived values (seq < 0: ingest's hourly VN_AQI, LAeq, congestion, energy) are rewritten in place by
   * every batch while their hour runs, one per device and hour. They are upserted, 64 per statement, and
   * kept out of the rollups: a rollup of one value an hour holds nothing the row does not, and keeping it
   * exact meant recomputing two windows from the raw rows for every rewrite (a large share of the write cost
   * with thousands of devices per batch). Windowed queries read their rows (`isDerivedKind`), and
   * retention keeps them as long as the hourly rollups.
   */
  private upsertDerived(b: EncodedBatch, indexes: number[], newest: Map<number, number>): void {
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
      this.noteNewest(newest, b, i);
    }
    this.stmt.upsertDerived!.runAll(params);
  }

  private noteNewest(newest: Map<number, number>, b: EncodedBatch, i: number): void {
    const k = i * REFS_PER_READING;
    const key = b.refs[k + KIND]! * b.strings.length + b.refs[k + DEVICE]!;
    const prev = newest.get(key);
    if (prev === undefined || b.ts[i]! >= b.ts[prev]!) newest.set(key, i);
  }

  /** Keys are numbers built from the batch's string indexes: cheaper to hash than joined strings. */
  private addDeltas(series: Map<number, SeriesDeltas>, b: EncodedBatch, i: number, stride: number): void {
    const k = i * REFS_PER_READING;
    const kindRef = b.refs[k + KIND]!;
    const deviceRef = b.refs[k + DEVICE]!;
    const ts = b.ts[i]!;
    const ward = b.strings[b.refs[k + WARD]!]!;
    const base = (kindRef * stride + deviceRef) * stride;
    for (let f = b.fieldStart[i]!; f < b.fieldStart[i + 1]!; f++) {
      const fieldRef = b.fieldRefs[f]!;
      const v = b.values[f]!;
      let sd = series.get(base + fieldRef);
      if (!sd) {
        sd = {
          kind: b.strings[kindRef]!,
          device: b.strings[deviceRef]!,
          field: b.strings[fieldRef]!,
          byTable: ROLLUPS.map(({ table, ms }) => ({ table, ms, buckets: new Map(), last: undefined })),
        };
        series.set(base + fieldRef, sd);
      }
      for (const t of sd.byTable) {
        const bucket = windowStart(ts, t.ms);
        let d = t.last !== undefined && t.last.bucket === bucket ? t.last : t.buckets.get(bucket);
        if (!d) {
          d = { bucket, ward, acc: emptyAccumulator() };
          t.buckets.set(bucket, d);
        }
        t.last = d;
        addValue(d.acc, ts, v);
        if (ts >= d.acc.lastTs) d.ward = ward;
      }
    }
  }

  private recomputeWindow(table: RollupTable, ms: number, kind: string, device: string, bucket: number): void {
    const s = this.stmt;
    s.rollup[table].deleteWindow!.run(kind, device, bucket);
    const perField = new Map<string, { acc: Accumulator; ward: string }>();
    for (const row of s.rawRange.iterate(kind, device, bucket, bucket + ms - 1)) {
      const values = JSON.parse(row.vals) as Record<string, number>;
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
    s.rollup[table].upsertMany!.runAll(params);
  }

  async query(q: RangeQuery): Promise<Series[]> {
    const devices = this.devicesFor(q.kind, q.devices);
    const out: Series[] = [];
    if (q.windowMs === undefined) {
      for (const device of devices) out.push(...this.rawSeries(q, device));
      return out;
    }
    const windowMs = q.windowMs;
    if (!(windowMs > 0)) throw new Error(`windowMs must be positive, got ${windowMs}`);
    const aggregate = q.aggregate ?? 'mean';
    const rollup = this.isDerivedKind(q.kind) ? undefined : ROLLUPS.find((r) => windowMs >= r.ms && windowMs % r.ms === 0);
    for (const device of devices) {
      const windows = rollup ? this.rollupWindows(q, device, rollup.table, rollup.ms, windowMs) : this.rawWindows(q, device, windowMs);
      for (const field of q.fields) {
        const w = windows.get(field);
        if (!w || w.buckets.size === 0) continue;
        const points: Array<[number, number]> = [...w.buckets.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([t, acc]) => [t, finish(acc, aggregate)]);
        out.push({ device, ward: w.ward, field, points });
      }
    }
    return out;
  }

  /** Derived kinds have no rollups (see upsertDerived): their windows come from their hourly rows. */
  private isDerivedKind(kind: string): boolean {
    return (this.stmt.kindSeq.get(kind) ?? 0) < 0;
  }

  private devicesFor(kind: string, wanted?: string[]): string[] {
    const known = this.stmt.devicesOfKind.all(kind).map((r) => r.device);
    if (!wanted) return known;
    const set = new Set(known);
    return wanted.filter((d) => set.has(d));
  }

  private rawSeries(q: RangeQuery, device: string): Series[] {
    const byField = new Map<string, Series>();
    for (const field of q.fields) byField.set(field, { device, ward: '', field, points: [] });
    for (const row of this.stmt.rawRange.iterate(q.kind, device, q.from, q.to)) {
      if (q.ward !== undefined && row.ward !== q.ward) continue;
      const values = JSON.parse(row.vals) as Record<string, number>;
      for (const field of q.fields) {
        // Own values only: a field named like an Object.prototype member ("constructor") is not a value.
        const v = Object.hasOwn(values, field) ? values[field] : undefined;
        if (v === undefined) continue;
        const s = byField.get(field)!;
        s.points.push([row.ts, v]);
        s.ward = row.ward;
      }
    }
    return [...byField.values()].filter((s) => s.points.length > 0);
  }

  private rawWindows(q: RangeQuery, device: string, windowMs: number): Map<string, { ward: string; buckets: Map<number, Accumulator> }> {
    const out = new Map<string, { ward: string; buckets: Map<number, Accumulator> }>();
    for (const row of this.stmt.rawRange.iterate(q.kind, device, q.from, q.to)) {
      if (q.ward !== undefined && row.ward !== q.ward) continue;
      const values = JSON.parse(row.vals) as Record<string, number>;
      for (const field of q.fields) {
        // Own values only: a field named like an Object.prototype member ("constructor") is not a value.
        const v = Object.hasOwn(values, field) ? values[field] : undefined;
        if (v === undefined) continue;
        let f = out.get(field);
        if (!f) out.set(field, (f = { ward: row.ward, buckets: new Map() }));
        f.ward = row.ward;
        const t = windowStart(row.ts, windowMs);
        let acc = f.buckets.get(t);
        if (!acc) f.buckets.set(t, (acc = emptyAccumulator()));
        addValue(acc, row.ts, v);
      }
    }
    return out;
  }

  /** Rollup buckets whose start lies in [from, to] (from rounded down to the bucket), merged into windows. */
  private rollupWindows(q: RangeQuery, device: string, table: RollupTable, ms: number, windowMs: number) {
    const out = new Map<string, { ward: string; buckets: Map<number, Accumulator> }>();
    for (const field of q.fields) {
      const f = { ward: '', buckets: new Map<number, Accumulator>() };
      for (const row of this.stmt.rollup[table].select.iterate(q.kind, device, field, windowStart(q.from, ms), q.to)) {
        if (q.ward !== undefined && row.ward !== q.ward) continue;
        f.ward = row.ward;
        const t = windowStart(row.bucket, windowMs);
        let acc = f.buckets.get(t);
        if (!acc) f.buckets.set(t, (acc = emptyAccumulator()));
        mergeAccumulator(acc, { count: row.count, sum: row.sum, min: row.min, max: row.max, last: row.last, lastTs: row.last_ts });
      }
      out.set(field, f);
    }
    return out;
  }

  async latest(filter: LatestFilter = {}): Promise<StoredReading[]> {
    const devices = filter.devices ? new Set(filter.devices) : undefined;
    return this.stmt.latestAll
      .all()
      .filter(
        (r) =>
          (filter.kind === undefined || r.kind === filter.kind) &&
          (filter.ward === undefined || r.ward === filter.ward) &&
          (!devices || devices.has(r.device)),
      )
      .map((r) => ({
        kind: r.kind,
        device: r.device,
        gateway: r.gateway,
        ward: r.ward,
        ts: r.ts,
        seq: r.seq,
        values: JSON.parse(r.vals) as Record<string, number>,
      }));
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
    for (const { kind, device } of this.gatewayDevices.all(gateway))
      for (const seq of this.stmt.deviceSequences.all(kind, device, from, to, gateway)) seqs.push(seq);
    return seqs.sort((a, b) => a - b);
  }

  /**
   * Deletes raw rows, rollups and dead letters older than their retention. One short transaction per
   * device, so the sweep never holds the write lock long enough to stall ingest.
   */
  applyRetention(now = Date.now()): RetentionResult {
    this.assertWritable();
    const s = this.stmt;
    const rawCutoff = now - this.retention.rawDays * DAY_MS;
    const minuteCutoff = now - this.retention.minuteDays * DAY_MS;
    const hourCutoff = now - this.retention.hourDays * DAY_MS;
    const result: RetentionResult = { raw: 0, minute: 0, hour: 0, deadLetters: 0 };
    for (const { kind, device, seq } of s.allDevices.all()) {
      this.db.transaction(() => {
        // A derived series' rows are its hourly history (it has no rollups): kept as long as hourly rollups.
        result.raw += s.expireRaw!.run(kind, device, seq < 0 ? hourCutoff : rawCutoff).changes;
        result.minute += s.rollup.rollup_1m.expire!.run(kind, device, minuteCutoff).changes;
        result.hour += s.rollup.rollup_1h.expire!.run(kind, device, hourCutoff).changes;
      })();
    }
    result.deadLetters = s.expireDeadLetters!.run(rawCutoff).changes;
    return result;
  }

  private assertWritable(): void {
    if (this.closed) throw new Error('store is closed');
    if (this.readonly) throw new Error('store was opened read-only');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.firstSweep);
    clearInterval(this.retentionTimer);
    this.db.close();
  }
}
