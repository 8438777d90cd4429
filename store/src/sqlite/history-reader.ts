import type Database from 'better-sqlite3';
import {
  columnsToSeries,
  seriesToColumns,
  windowClock,
  type Aggregate,
  type ClockMark,
  type ColumnSeries,
  type RangeQuery,
  type Series,
} from '@tamky/protocol';
import { addValue, emptyAccumulator, finish, mergeAccumulator, windowStart, type Accumulator } from '../windows';
import { RawRows } from './raw-rows';
import { ROLLUPS, type RollupTable } from './schema';

/** Where a windowed query reads from: raw rows (no table) or a rollup; `ms` its resolution (0: any). */
interface Source {
  table: RollupTable | undefined;
  ms: number;
  /** Everything older is gone (retention_cutoff); -Infinity while retention has removed nothing. */
  cutoff: number;
}
/** One stretch of a query's range, read from one source in windows of `windowMs`. */
interface Part {
  source: Source;
  from: number;
  to: number;
  windowMs: number;
}

/** Finest first: raw rows, then the rollups. */
const SOURCES: ReadonlyArray<Omit<Source, 'cutoff'>> = [{ table: undefined, ms: 0 }, ...[...ROLLUPS].reverse()];

/** What windows need of a reading. */
type RawRow = { ts: number; ward: string; values: Record<string, number> };
/** bucket, ward, count, sum, min, max, last, last_ts */
type RollupRow = [number, string, number, number, number, number, number, number];
type Windows = Map<number, Accumulator>;
/** Per field: windows from raw rows not (yet) in the rollups, and the ward of the newest of them. */
type Extra = Map<string, { ward: string; wardTs: number; windows: Windows }>;
/**
 * What a query turns each series into as soon as it is complete: itself, or columns (then its points die young,
 * instead of 72,000 small arrays outliving the whole query: most of its CPU was the garbage collector's).
 */
type Pack<S> = (s: Series | ColumnSeries) => S;
const asSeries: Pack<Series> = (s) => ('points' in s ? s : columnsToSeries(s));
const asColumns: Pack<ColumnSeries> = (s) => ('points' in s ? seriesToColumns(s) : s);

const accOf = (r: RollupRow): Accumulator => ({ count: r[2], sum: r[3], min: r[4], max: r[5], last: r[6], lastTs: r[7] });

/** An aggregate of one rollup row, computed by SQLite: the fast path returns [bucket, value] rows as they come. */
const ROW_VALUE: Record<Aggregate, string> = {
  mean: 'sum / count',
  min: 'min',
  max: 'max',
  last: 'last',
  sum: 'sum',
  count: 'count',
};

/**
 * Range queries on the SQLite file: raw points, windows from raw rows (short windows, derived kinds) and
 * windows from the coarsest rollup whose resolution divides the window. Rollups lag the raw rows by what
 * RollupMaintainer has not folded yet; a query adds those rows (past the watermark) and recomputes the windows
 * of rewritten readings (rollup_dirty) from the raw rows, inside one read transaction, so answers are exact.
 * The part of a range older than the retention cutoff of the source serving it (recorded by the sweep) is read
 * from the next coarser source that still holds it (raw rows → minute → hourly rollups), in windows rounded up
 * to that source's resolution.
 */
export class HistoryReader {
  private readonly devicesOfKind: Database.Statement<[string], string>;
  private readonly kindSeq: Database.Statement<[string], number>;
  private readonly raw: RawRows;
  private readonly rollupRange: Record<RollupTable, Database.Statement<[string, string, string, number, number], RollupRow>>;
  /**
   * Fast-path statements by table, aggregate and ward filter: a series' buckets and values as two lists of text
   * (columns), [bucket, value] rows (points, for what the lists cannot carry), and the newest row's ward.
   */
  private readonly direct = new Map<
    string,
    {
      columns: Database.Statement<unknown[], [string | null, string | null]>;
      points: Database.Statement<unknown[], [number, number]>;
      ward: Database.Statement<unknown[], string>;
    }
  >();
  /** Prepared on first use: a reader may open a file its writer has not upgraded to schema 3 yet (then there is no lag). */
  private pendingStmts:
    | {
        watermark: Database.Statement<[], number>;
        pending: Database.Statement<[number, string, number, number], { device: string; ts: number; ward: string; vals: string }>;
        dirty: Database.Statement<[string], { device: string; ts: number }>;
      }
    | null
    | undefined;
  private readonly windowedQueryTx: <S>(q: RangeQuery, devices: string[], windowMs: number, pack: Pack<S>) => S[];
  private readonly rawQueryTx: <S>(q: RangeQuery, devices: string[], pack: Pack<S>) => S[];
  private readonly rawWindowTx: <S>(q: RangeQuery, devices: string[], windowMs: number, pack: Pack<S>) => S[];
  /** Prepared on first use: a reader may open a file its writer has not given retention_cutoff yet. */
  private cutoffStmt: Database.Statement<[], { source: string; cutoff: number }> | null | undefined;
  /** Prepared on first use: a reader may open a file its writer has not given reading_clock yet. */
  private marksStmt: Database.Statement<[string, string, number, number], [number, ClockMark]> | null | undefined;

  constructor(private readonly db: Database.Database) {
    this.devicesOfKind = db.prepare<[string], string>('SELECT device FROM latest WHERE kind = ?').pluck();
    this.kindSeq = db.prepare<[string], number>('SELECT seq FROM latest WHERE kind = ? LIMIT 1').pluck();
    this.raw = new RawRows(db);
    const range = (table: RollupTable) =>
      db
        .prepare(
          `SELECT bucket, ward, count, sum, min, max, last, last_ts FROM ${table} WHERE kind = ? AND device = ? AND field = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket`,
        )
        .raw(true) as unknown as Database.Statement<[string, string, string, number, number], RollupRow>;
    this.rollupRange = { rollup_1m: range('rollup_1m'), rollup_1h: range('rollup_1h') };
    // Every query reads in one transaction: a compaction moving rows from the hot table to a block commits between
    // two statements of a query otherwise, and the query would see those rows twice or not at all.
    this.windowedQueryTx = db.transaction((q, devices, windowMs, pack) =>
      this.windowedQuery(q, devices, windowMs, pack),
    ) as typeof this.windowedQueryTx;
    this.rawQueryTx = db.transaction(<S>(q: RangeQuery, devices: string[], pack: Pack<S>) =>
      devices.flatMap((device) => this.rawSeries(q, device).map(pack)),
    ) as typeof this.rawQueryTx;
    this.rawWindowTx = db.transaction(<S>(q: RangeQuery, devices: string[], windowMs: number, pack: Pack<S>) =>
      this.rawWindowQuery(q, devices, windowMs, pack),
    ) as typeof this.rawWindowTx;
  }

  query(q: RangeQuery): Series[] {
    return this.run(q, asSeries);
  }

  /** The same answer as `query`, each series as columns. */
  queryColumns(q: RangeQuery): ColumnSeries[] {
    return this.run(q, asColumns);
  }

  private run<S>(q: RangeQuery, pack: Pack<S>): S[] {
    const devices = this.devicesFor(q.kind, q.devices);
    if (q.windowMs === undefined) return this.rawQueryTx(q, devices, pack);
    const windowMs = q.windowMs;
    if (!(windowMs > 0)) throw new Error(`windowMs must be positive, got ${windowMs}`);
    // Derived kinds: their windows always come from their rows, kept as long as the hourly rollups.
    if (this.isDerivedKind(q.kind)) return this.rawWindowTx(q, devices, windowMs, pack);
    return this.windowedQueryTx(q, devices, windowMs, pack);
  }

  /** One read transaction: the cutoffs and every part's rows are of one state of the file. */
  private windowedQuery<S>(q: RangeQuery, devices: string[], windowMs: number, pack: Pack<S>): S[] {
    const cutoffs = this.cutoffs();
    const sources = SOURCES.map((s) => ({ ...s, cutoff: cutoffs.get(s.table ?? 'raw') ?? -Infinity }));
    const rollup = ROLLUPS.find((r) => windowMs >= r.ms && windowMs % r.ms === 0);
    const start = sources.findIndex((s) => s.table === rollup?.table);
    const parts = q.exactWindow
      ? [{ source: sources[start]!, from: q.from, to: q.to, windowMs }]
      : plan(sources, start, q.from, q.to, windowMs);
    return this.partsQuery(q, devices, parts, pack);
  }

  private cutoffs(): Map<string, number> {
    if (this.cutoffStmt === undefined) {
      try {
        this.cutoffStmt = this.db.prepare<[], { source: string; cutoff: number }>('SELECT source, cutoff FROM retention_cutoff');
      } catch {
        this.cutoffStmt = null;
      }
    }
    return new Map(this.cutoffStmt?.all().map((r) => [r.source, r.cutoff]));
  }

  /** Each part answered on its own, then joined per (device, field) series, older points first. */
  private partsQuery<S>(q: RangeQuery, devices: string[], parts: Part[], pack: Pack<S>): S[] {
    const partQuery = <P>({ source, from, to, windowMs }: Part, packPart: Pack<P>): P[] => {
      const part = { ...q, from, to };
      return source.table
        ? this.rollupQuery(part, devices, source.table, source.ms, windowMs, packPart)
        : this.rawWindowQuery(part, devices, windowMs, packPart);
    };
    if (parts.length === 1) return partQuery(parts[0]!, pack);
    const answers = parts.map((part) => partQuery(part, asSeries));
    const joined = new Map<string, Series>();
    for (const answer of answers)
      for (const s of answer) {
        const key = `${s.device}\u0000${s.field}`;
        const into = joined.get(key);
        if (!into) joined.set(key, { ...s, points: [...s.points], ...(s.clock ? { clock: [...s.clock] } : {}) });
        else {
          into.ward = s.ward; // the newest part's ward, as a single answer gives its newest row's
          for (const p of s.points) into.points.push(p);
          if (s.clock) into.clock = [...(into.clock ?? []), ...s.clock];
        }
      }
    const out: S[] = [];
    for (const device of devices)
      for (const field of q.fields) {
        const s = joined.get(`${device}\u0000${field}`);
        if (s) out.push(pack(s));
      }
    return out;
  }

  /** Windows computed from the raw rows in [from, to]. */
  private rawWindowQuery<S>(q: RangeQuery, devices: string[], windowMs: number, pack: Pack<S>): S[] {
    const out: S[] = [];
    const aggregate = q.aggregate ?? 'mean';
    for (const device of devices) {
      const extra: Extra = new Map();
      for (const row of this.raw.rows(q.kind, device, q.from, q.to)) addRawRow(extra, q, row, windowMs);
      const found: Series[] = [];
      for (const field of q.fields) {
        const e = extra.get(field);
        if (e && e.windows.size > 0) found.push({ device, ward: e.ward, field, points: pointsOf(e.windows, aggregate) });
      }
      this.addWindowClock(q.kind, device, q.from, q.to, windowMs, found);
      for (const s of found) out.push(pack(s));
    }
    return out;
  }

  /** Series.clock of a device's windowed series: its readings' marks in [from, to] (the readings its windows hold). */
  private addWindowClock(
    kind: string,
    device: string,
    from: number,
    to: number,
    windowMs: number,
    series: Array<Series | ColumnSeries>,
  ): void {
    if (series.length === 0) return;
    const marks = this.marks(kind, device, from, to);
    if (marks.length === 0) return;
    for (const s of series) {
      const clock = windowClock(marks, windowMs, 'points' in s ? s.points : s.ts);
      if (clock.length > 0) s.clock = clock;
    }
  }

  /** Derived kinds have no rollups (reading-writer.ts): their windows come from their hourly rows. */
  private isDerivedKind(kind: string): boolean {
    return (this.kindSeq.get(kind) ?? 0) < 0;
  }

  private devicesFor(kind: string, wanted?: string[]): string[] {
    const known = this.devicesOfKind.all(kind);
    if (!wanted) return known;
    const set = new Set(known);
    return wanted.filter((d) => set.has(d));
  }

  private rawSeries(q: RangeQuery, device: string): Series[] {
    const byField = new Map<string, Series>();
    for (const field of q.fields) byField.set(field, { device, ward: '', field, points: [] });
    for (const row of this.raw.rows(q.kind, device, q.from, q.to)) {
      if (q.ward !== undefined && row.ward !== q.ward) continue;
      const values = row.values;
      for (const field of q.fields) {
        // Own values only: a field named like an Object.prototype member ("constructor") is not a value.
        const v = Object.hasOwn(values, field) ? values[field] : undefined;
        if (v === undefined) continue;
        const s = byField.get(field)!;
        s.points.push([row.ts, v]);
        s.ward = row.ward;
      }
    }
    const found = [...byField.values()].filter((s) => s.points.length > 0);
    if (found.length > 0) {
      const marks = this.marks(q.kind, device, q.from, q.to);
      if (marks.length > 0)
        for (const s of found) {
          const times = new Set(s.points.map((p) => p[0]));
          const own = marks.filter(([ts]) => times.has(ts));
          if (own.length > 0) s.clock = own;
        }
    }
    return found;
  }

  /** The clock marks of a device's readings in [from, to], ascending by time. */
  private marks(kind: string, device: string, from: number, to: number): Array<[number, ClockMark]> {
    if (this.marksStmt === undefined) {
      try {
        this.marksStmt = this.db
          .prepare('SELECT ts, mark FROM reading_clock WHERE kind = ? AND device = ? AND ts >= ? AND ts <= ? ORDER BY ts')
          .raw(true) as unknown as Database.Statement<[string, string, number, number], [number, ClockMark]>;
      } catch {
        this.marksStmt = null;
      }
    }
    return this.marksStmt?.all(kind, device, from, to) ?? [];
  }

  private pending() {
    if (this.pendingStmts !== undefined) return this.pendingStmts;
    try {
      this.pendingStmts = {
        watermark: this.db.prepare<[], number>('SELECT watermark FROM rollup_state WHERE id = 1').pluck(),
        // Unary + keeps the planner on the rowid range (the rows past the watermark are few) instead of the kind index.
        pending: this.db.prepare('SELECT device, ts, ward, vals FROM reading WHERE rowid > ? AND +kind = ? AND +ts >= ? AND +ts <= ?'),
        dirty: this.db.prepare('SELECT device, ts FROM rollup_dirty WHERE kind = ?'),
      };
    } catch {
      this.pendingStmts = null; // schema 2: rollups were maintained with each batch
    }
    return this.pendingStmts;
  }

  /**
   * Rollup buckets whose start lies in [from, to] (from rounded down to the bucket), merged into windows; plus
   * raw rows past the watermark, and dirty buckets recomputed from their raw rows instead of their rollup row.
   */
  private rollupQuery<S>(q: RangeQuery, devices: string[], table: RollupTable, ms: number, windowMs: number, pack: Pack<S>): S[] {
    const aggregate = q.aggregate ?? 'mean';
    const first = windowStart(q.from, ms);
    const lastTs = windowStart(q.to, ms) + ms - 1;
    const extras = new Map<string, Extra>();
    const dirtyBuckets = new Map<string, Set<number>>();
    const p = this.pending();
    if (p) {
      for (const { device, ts } of p.dirty.iterate(q.kind)) {
        const bucket = windowStart(ts, ms);
        if (bucket < first || bucket > q.to) continue;
        let set = dirtyBuckets.get(device);
        if (!set) dirtyBuckets.set(device, (set = new Set()));
        set.add(bucket);
      }
      const extraOf = (device: string) => {
        let e = extras.get(device);
        if (!e) extras.set(device, (e = new Map()));
        return e;
      };
      for (const row of p.pending.iterate(p.watermark.get() ?? 0, q.kind, first, lastTs))
        if (!dirtyBuckets.get(row.device)?.has(windowStart(row.ts, ms)))
          addRawRow(
            extraOf(row.device),
            q,
            { ts: row.ts, ward: row.ward, values: JSON.parse(row.vals) as Record<string, number> },
            windowMs,
          );
      for (const [device, buckets] of dirtyBuckets)
        for (const bucket of buckets)
          for (const row of this.raw.rows(q.kind, device, bucket, bucket + ms - 1))
            if (row.seq >= 0) addRawRow(extraOf(device), q, row, windowMs);
    }
    const out: S[] = [];
    for (const device of devices) {
      const extra = extras.get(device);
      const dirty = dirtyBuckets.get(device);
      const found: Array<Series | ColumnSeries> = [];
      for (const field of q.fields) {
        const e = extra?.get(field);
        let ward = '';
        let wardTs = -Infinity;
        let points: Array<[number, number]>;
        if (windowMs === ms && !e && !dirty) {
          // Each rollup row is a window of its own: SQLite computes the value, its rows are the points.
          const d = this.directStatements(table, aggregate, q.ward !== undefined);
          const args = [q.kind, device, field, first, q.to, ...(q.ward !== undefined ? [q.ward] : [])];
          const [tsText, valuesText] = d.columns.get(...args)!;
          if (tsText === null || valuesText === null) continue; // no rows
          const columns = columnsOfLists(tsText, valuesText);
          if (columns) {
            found.push({ device, ward: d.ward.get(...args)!, field, ...columns });
            continue;
          }
          points = d.points.all(...args);
          if (points.length > 0) ward = d.ward.get(...args)!;
        } else {
          const rows = this.rollupRange[table].all(q.kind, device, field, first, q.to);
          const windows: Windows = new Map();
          for (const r of rows) {
            if (dirty?.has(r[0]) || (q.ward !== undefined && r[1] !== q.ward)) continue;
            if (r[7] >= wardTs) [ward, wardTs] = [r[1], r[7]];
            const t = windowStart(r[0], windowMs);
            const acc = windows.get(t);
            if (acc) mergeAccumulator(acc, accOf(r));
            else windows.set(t, accOf(r));
          }
          if (e) {
            if (e.wardTs >= wardTs) ward = e.ward;
            for (const [t, acc] of e.windows) {
              const into = windows.get(t);
              if (into) mergeAccumulator(into, acc);
              else windows.set(t, acc);
            }
          }
          points = pointsOf(windows, aggregate);
        }
        if (points.length > 0) found.push({ device, ward, field, points });
      }
      // Whole buckets: the marks of every reading they hold.
      this.addWindowClock(q.kind, device, first, lastTs, windowMs, found);
      for (const s of found) out.push(pack(s));
    }
    return out;
  }

  private directStatements(table: RollupTable, aggregate: Aggregate, byWard: boolean) {
    const key = `${table}|${aggregate}|${byWard}`;
    let d = this.direct.get(key);
    if (!d) {
      const where = `FROM ${table} WHERE kind = ? AND device = ? AND field = ? AND bucket >= ? AND bucket <= ?${byWard ? ' AND ward = ?' : ''}`;
      d = {
        // One row of two texts instead of a JS array per row: making those arrays cost more than SQLite's reading.
        columns: this.db
          .prepare(
            `SELECT group_concat(bucket), group_concat(value) FROM (SELECT bucket, ${ROW_VALUE[aggregate]} AS value ${where} ORDER BY bucket)`,
          )
          .raw(true) as unknown as Database.Statement<unknown[], [string | null, string | null]>,
        points: this.db
          .prepare(`SELECT bucket, ${ROW_VALUE[aggregate]} ${where} ORDER BY bucket`)
          .raw(true) as unknown as Database.Statement<unknown[], [number, number]>,
        ward: this.db.prepare(`SELECT ward ${where} ORDER BY bucket DESC LIMIT 1`).pluck() as Database.Statement<unknown[], string>,
      };
      this.direct.set(key, d);
    }
    return d;
  }
}

/** Adds a raw row's values of the query's fields to per-field windows (rows of another ward are left out). */
function addRawRow(extra: Extra, q: RangeQuery, row: RawRow, windowMs: number): void {
  if (q.ward !== undefined && row.ward !== q.ward) return;
  const values = row.values;
  for (const field of q.fields) {
    // Own values only: a field named like an Object.prototype member ("constructor") is not a value.
    const v = Object.hasOwn(values, field) ? values[field] : undefined;
    if (v === undefined) continue;
    let f = extra.get(field);
    if (!f) extra.set(field, (f = { ward: row.ward, wardTs: row.ts, windows: new Map() }));
    if (row.ts >= f.wardTs) [f.ward, f.wardTs] = [row.ward, row.ts];
    const t = windowStart(row.ts, windowMs);
    let acc = f.windows.get(t);
    if (!acc) f.windows.set(t, (acc = emptyAccumulator()));
    addValue(acc, row.ts, v);
  }
}

/**
 * Two comma-separated lists of numbers (group_concat) as columns. SQLite writes a REAL with as many digits as it
 * takes to read back as the same double, so they are exact. Undefined when they do not parse as plain numbers (an
 * infinity is "Inf" in SQLite's text): the caller reads the rows instead.
 */
export function columnsOfLists(tsText: string, valuesText: string): { ts: Float64Array; values: Float64Array } | undefined {
  let ts: number[];
  let values: number[];
  try {
    ts = JSON.parse(`[${tsText}]`) as number[];
    values = JSON.parse(`[${valuesText}]`) as number[];
  } catch {
    return undefined;
  }
  if (ts.length !== values.length) return undefined;
  // The subquery's ORDER BY gives group_concat its order; a plan that did not would show here.
  for (let i = 1; i < ts.length; i++) if (!(ts[i]! > ts[i - 1]!)) return undefined;
  return { ts: Float64Array.from(ts), values: Float64Array.from(values) };
}

function pointsOf(windows: Windows, aggregate: Aggregate): Array<[number, number]> {
  return [...windows.entries()].sort((a, b) => a[0] - b[0]).map(([t, acc]) => [t, finish(acc, aggregate)]);
}

/**
 * The parts of [from, to], oldest first: what is older than source `i` holds is read from the next coarser
 * source that holds more, in windows rounded up to its resolution. The seam is the cutoff rounded up to a
 * window of the coarser part, so no window is split or answered twice.
 */
function plan(sources: Source[], i: number, from: number, to: number, windowMs: number): Part[] {
  const source = sources[i]!;
  let j = i + 1;
  while (j < sources.length && sources[j]!.cutoff >= source.cutoff) j++;
  const coarser = sources[j];
  if (from >= source.cutoff || !coarser) return [{ source, from, to, windowMs }];
  const coarserWindowMs = Math.ceil(windowMs / coarser.ms) * coarser.ms;
  const seam = Math.ceil(source.cutoff / coarserWindowMs) * coarserWindowMs;
  const older = plan(sources, j, from, Math.min(to, seam - 1), coarserWindowMs);
  return seam <= to ? [...older, { source, from: seam, to, windowMs }] : older;
}
