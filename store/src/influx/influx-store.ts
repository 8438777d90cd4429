import {
  asClockMark,
  windowClock,
  type ClockMark,
  type DeadLetter,
  type LatestFilter,
  type RangeQuery,
  type Series,
  type StoredReading,
  type TimeSeriesStore,
} from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { InfluxStoreConfig } from '../config';
import { anyOf, quoteIdentifier, quoteString, seriesOf, timeLiteral, type InfluxSeries } from './influxql';
import { backfillQuery, continuousQuery, downsampledSelect, HOUR_MS } from './downsample';
import { CLOCK_FIELD, DEAD_LETTER_MEASUREMENT, deadLetterToLine, readingsToBody } from './line-protocol';
import { authHeaders, InfluxWriteError, v1Writer, v2Writer, type LineWriter } from './writers';

export { InfluxWriteError };

const TAGS = new Set(['device', 'gateway', 'ward']);

/**
 * InfluxDB of any generation: writes line protocol through /write (1.x ≤ 1.7) or /api/v2/write
 * (1.8+, 2.x, 3 Core), reads with InfluxQL on /query, which all of them answer.
 */
export class InfluxStore implements TimeSeriesStore {
  private readonly write: LineWriter;
  private readonly baseUrl: string;
  private readonly db: string;
  private deadLetterCounter = 0;
  private closed = false;

  constructor(
    private readonly config: InfluxStoreConfig,
    private readonly opts: { logger?: Logger; readonly?: boolean } = {},
  ) {
    this.write = config.api === 'v1' ? v1Writer(config) : v2Writer(config);
    this.baseUrl = config.url.replace(/\/$/, '');
    this.db = config.database ?? config.bucket!;
  }

  /** Logs whether the server answers and, on 1.x, creates the database. Not fatal: writes fail (and are retried by the caller) until it does. */
  async init(): Promise<void> {
    try {
      const res = await fetch(`${this.baseUrl}/ping`, { signal: AbortSignal.timeout(this.config.timeoutMs) });
      this.opts.logger?.info({ url: this.baseUrl, version: res.headers.get('x-influxdb-version') }, 'InfluxDB answers');
    } catch (err) {
      this.opts.logger?.warn({ err, url: this.baseUrl }, 'InfluxDB does not answer /ping yet');
      return;
    }
    await this.ensureDatabase();
    await this.ensureDownsampling();
  }

  /** 1.x: the downsampled retention policy and the continuous query filling it. Logged, not fatal. */
  private async ensureDownsampling(): Promise<void> {
    const ds = this.config.downsample;
    if (!ds?.setup || this.config.api !== 'v1' || this.opts.readonly) return;
    try {
      await this.influxql(
        `CREATE RETENTION POLICY ${quoteIdentifier(ds.retentionPolicy)} ON ${quoteIdentifier(this.db)} DURATION ${ds.durationWeeks}w REPLICATION 1`,
      );
      await this.influxql(continuousQuery(this.db, this.rawRp(), ds.retentionPolicy));
    } catch (err) {
      this.opts.logger?.warn({ err, retentionPolicy: ds.retentionPolicy }, 'downsampling not set up (long ranges read raw data)');
    }
  }

  private rawRp(): string {
    return this.config.retentionPolicy ?? 'autogen';
  }

  /**
   * Runs the continuous query's aggregation over [from, to) (whole hours) now: hours written before the CQ
   * existed, or later than its 2 h resample window. Returns the points written.
   */
  async backfillDownsampled(from: number, to: number): Promise<number> {
    const ds = this.config.downsample;
    if (!ds) throw new Error('downsample is not configured');
    const rows = await this.influxql(
      backfillQuery(this.db, this.rawRp(), ds.retentionPolicy, Math.floor(from / HOUR_MS) * HOUR_MS, Math.ceil(to / HOUR_MS) * HOUR_MS),
    );
    return Number(rows[0]?.values[0]?.[1] ?? 0);
  }

  /** Until CREATE DATABASE succeeded once (1.x, createDatabase), it is tried again before each write: the server may have been down at start. */
  private databaseReady = false;
  private async ensureDatabase(): Promise<void> {
    if (this.databaseReady || this.config.api !== 'v1' || !this.config.createDatabase || this.opts.readonly) return;
    try {
      await this.influxql(`CREATE DATABASE ${quoteIdentifier(this.db)}`);
      this.databaseReady = true;
    } catch (err) {
      // Unreachable (fetch's TypeError, a timeout): try again next time. Refused (no admin rights, …): the
      // database is someone else's to create; stop asking.
      const unreachable = err instanceof TypeError || (err as Error).name === 'TimeoutError';
      if (!unreachable) this.databaseReady = true;
      this.opts.logger?.warn(
        { err, database: this.db },
        unreachable
          ? 'InfluxDB unreachable: database not created yet'
          : 'CREATE DATABASE refused (it may exist, or the user lacks admin rights)',
      );
    }
  }

  async writeBatch(readings: StoredReading[]): Promise<void> {
    this.assertWritable();
    if (readings.length === 0) return;
    await this.writeChunked(readings.length, (from, to) => readingsToBody(readings, from, to), 'ns');
  }

  async writeDeadLetters(letters: DeadLetter[]): Promise<void> {
    this.assertWritable();
    if (letters.length === 0) return;
    const lines = letters.map((l) => deadLetterToLine(l, this.deadLetterCounter++));
    await this.writeChunked(lines.length, (from, to) => lines.slice(from, to).join('\n'), 'ns');
  }

  /**
   * Bodies of about batchLines lines (the count split evenly: 5,200 lines go as one body, not 5,000 and a
   * straggler of 200), all built first (a line that cannot be written rejects the call before anything is
   * sent), then sent one after the other; a failed chunk rejects the whole call (earlier chunks are
   * rewritten harmlessly on redelivery). Calls are not ordered among themselves: with two in flight the
   * server uses both cores (sending each only after the previous one settled cost a quarter of the rate,
   * bench/ingest/RESULTS.md), and ingest orders what must be ordered (its pipeline).
   */
  private async writeChunked(count: number, body: (from: number, to: number) => string, precision: 'ms' | 'ns'): Promise<void> {
    const chunks = Math.max(1, Math.round(count / this.config.batchLines));
    const n = Math.ceil(count / chunks);
    const bodies: string[] = [];
    for (let i = 0; i < count; i += n) bodies.push(body(i, Math.min(count, i + n)));
    await this.ensureDatabase();
    for (const b of bodies) await this.write(b, precision);
  }

  private from(measurement: string | RegExp): string {
    const m = typeof measurement === 'string' ? quoteIdentifier(measurement) : `/${measurement.source}/`;
    return this.config.retentionPolicy ? `${quoteIdentifier(this.db)}.${quoteIdentifier(this.config.retentionPolicy)}.${m}` : m;
  }

  /** Runs one InfluxQL statement on /query (epoch ms) and returns the series of its result. */
  async influxql(q: string): Promise<InfluxSeries[]> {
    const params = new URLSearchParams({ db: this.db, epoch: 'ms' });
    const res = await fetch(`${this.baseUrl}/query?${params}`, {
      // POST: the statement goes in the body, so long device lists never hit URL length limits.
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...authHeaders(this.config) },
      body: new URLSearchParams({ q }),
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`InfluxDB /query answered ${res.status}: ${text.slice(0, 500)}`);
    }
    if (!res.ok && !(body as { error?: string }).error) throw new Error(`InfluxDB /query answered ${res.status}: ${text.slice(0, 500)}`);
    return seriesOf(body);
  }

  private conditions(from: number, to: number, extra: { devices?: string[]; ward?: string; gateway?: string }): string {
    // Points sit up to a millisecond past their reading's ms (line-protocol.ts pointTime): `to` is inclusive to its whole ms.
    const c = [`time >= ${timeLiteral(from)}`, `time < ${timeLiteral(to + 1)}`];
    if (extra.devices) c.push(extra.devices.length ? anyOf('device', extra.devices) : 'false');
    if (extra.ward !== undefined) c.push(`${quoteIdentifier('ward')} = ${quoteString(extra.ward)}`);
    if (extra.gateway !== undefined) c.push(`${quoteIdentifier('gateway')} = ${quoteString(extra.gateway)}`);
    return c.join(' AND ');
  }

  async query(q: RangeQuery): Promise<Series[]> {
    if (q.fields.length === 0 || (q.devices && q.devices.length === 0)) return [];
    const series = await this.seriesQuery(q);
    if (q.windowMs !== undefined && series.length > 0) await this.addWindowClock(q, q.windowMs, series);
    return series;
  }

  /** Series.clock of windowed series: the marked readings in the range (only they have the field), per device. */
  private async addWindowClock(q: RangeQuery, windowMs: number, series: Series[]): Promise<void> {
    const where = this.conditions(q.from, q.to, { devices: q.devices, ward: q.ward });
    const rows = await this.influxql(`SELECT ${quoteIdentifier(CLOCK_FIELD)} FROM ${this.from(q.kind)} WHERE ${where} GROUP BY "device"`);
    const marks = new Map<string, Array<[number, ClockMark]>>();
    for (const r of rows) {
      const timeCol = r.columns.indexOf('time');
      const markCol = r.columns.indexOf(CLOCK_FIELD);
      const own: Array<[number, ClockMark]> = [];
      for (const row of r.values) {
        const mark = asClockMark(row[markCol]);
        if (mark) own.push([row[timeCol] as number, mark]);
      }
      marks.set(r.tags?.device ?? '', own);
    }
    for (const s of series) {
      const clock = windowClock(marks.get(s.device) ?? [], windowMs, s.points);
      if (clock.length > 0) s.clock = clock;
    }
  }

  private async seriesQuery(q: RangeQuery): Promise<Series[]> {
    const ds = this.config.downsample;
    if (ds && q.windowMs !== undefined && q.windowMs > 0 && q.windowMs % HOUR_MS === 0 && q.to - q.from >= ds.minRangeMs) {
      // Downsampled up to a window boundary before the CQ's reach, raw after: no window mixes the two.
      const split = Math.floor((Date.now() - ds.lagMs) / q.windowMs) * q.windowMs;
      if (split > q.from) {
        const old = await this.downsampledQuery(q, Math.min(split, q.to + 1), ds.retentionPolicy).catch((err) => {
          this.opts.logger?.warn({ err }, 'downsampled query failed; reading raw data');
          return undefined;
        });
        if (old && old.length > 0) {
          if (split > q.to) return old;
          return mergeSeries(old, await this.rawQuery({ ...q, from: split }));
        }
      }
    }
    return this.rawQuery(q);
  }

  /** `q` over [windowStart(from), before) from the hourly retention policy. */
  private async downsampledQuery(q: RangeQuery, before: number, rp: string): Promise<Series[]> {
    const windowMs = q.windowMs!;
    const where = this.conditions(Math.floor(q.from / HOUR_MS) * HOUR_MS, before - 1, { devices: q.devices, ward: q.ward });
    const select = q.fields.map((f) => downsampledSelect(f, q.aggregate ?? 'mean')).join(', ');
    const from = `${quoteIdentifier(this.db)}.${quoteIdentifier(rp)}.${quoteIdentifier(q.kind)}`;
    return this.toSeries(
      await this.influxql(
        `SELECT ${select} FROM ${from} WHERE ${where} GROUP BY time(${Math.trunc(windowMs)}ms), "device", "ward" fill(none)`,
      ),
      q.fields,
    );
  }

  private async rawQuery(q: RangeQuery): Promise<Series[]> {
    const where = this.conditions(q.from, q.to, { devices: q.devices, ward: q.ward });
    let statement: string;
    if (q.windowMs === undefined) {
      const select = [...q.fields, CLOCK_FIELD].map(quoteIdentifier).join(', ');
      statement = `SELECT ${select} FROM ${this.from(q.kind)} WHERE ${where} GROUP BY "device", "ward"`;
    } else {
      if (!(q.windowMs > 0)) throw new Error(`windowMs must be positive, got ${q.windowMs}`);
      const fn = q.aggregate ?? 'mean';
      const select = q.fields.map((f) => `${fn}(${quoteIdentifier(f)}) AS ${quoteIdentifier(f)}`).join(', ');
      statement = `SELECT ${select} FROM ${this.from(q.kind)} WHERE ${where} GROUP BY time(${Math.trunc(q.windowMs)}ms), "device", "ward" fill(none)`;
    }
    return this.toSeries(await this.influxql(statement), q.fields);
  }

  private toSeries(rows: InfluxSeries[], fields: string[]): Series[] {
    const out: Series[] = [];
    rows.sort((a, b) => (a.tags?.device ?? '').localeCompare(b.tags?.device ?? ''));
    for (const s of rows) {
      const timeCol = s.columns.indexOf('time');
      // Raw rows only: the clock mark of each reading that has one (a window's column would be an aggregate).
      const markCol = s.columns.indexOf(CLOCK_FIELD);
      for (const field of fields) {
        const col = s.columns.indexOf(field);
        if (col < 0) continue;
        const points: Array<[number, number]> = [];
        const clock: Array<[number, ClockMark]> = [];
        for (const row of s.values) {
          const v = row[col];
          if (typeof v !== 'number') continue;
          points.push([row[timeCol] as number, v]);
          const mark = markCol < 0 ? undefined : asClockMark(row[markCol]);
          if (mark) clock.push([row[timeCol] as number, mark]);
        }
        if (points.length)
          out.push({ device: s.tags?.device ?? '', ward: s.tags?.ward ?? '', field, points, ...(clock.length ? { clock } : {}) });
      }
    }
    return out;
  }

  async latest(filter: LatestFilter = {}): Promise<StoredReading[]> {
    if (filter.devices && filter.devices.length === 0) return [];
    const c: string[] = [];
    if (filter.devices) c.push(anyOf('device', filter.devices));
    if (filter.ward !== undefined) c.push(`${quoteIdentifier('ward')} = ${quoteString(filter.ward)}`);
    const from = this.from(filter.kind ?? /.*/);
    const rows = await this.influxql(
      `SELECT * FROM ${from}${c.length ? ` WHERE ${c.join(' AND ')}` : ''} GROUP BY "device" ORDER BY time DESC LIMIT 1`,
    );
    const out: StoredReading[] = [];
    for (const s of rows) {
      if (s.name === DEAD_LETTER_MEASUREMENT || !s.tags?.device) continue;
      const row = s.values[0];
      if (!row) continue;
      const values: Record<string, number> = {};
      let ts = 0;
      let seq = 0;
      let gateway = '';
      let ward = '';
      let clock: ClockMark | undefined;
      s.columns.forEach((col, i) => {
        const v = row[i];
        if (col === 'time') ts = v as number;
        else if (col === CLOCK_FIELD) clock = asClockMark(v);
        else if (col === 'seq') seq = v as number;
        else if (col === 'gateway') gateway = (v as string | null) ?? '';
        else if (col === 'ward') ward = (v as string | null) ?? '';
        else if (!TAGS.has(col) && typeof v === 'number') values[col] = v;
      });
      out.push({ kind: s.name, device: s.tags.device, gateway, ward, ts, seq, values, ...(clock ? { clock } : {}) });
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.device.localeCompare(b.device));
  }

  /** Newest first. */
  async deadLetters(opts: { from?: number; to?: number; limit?: number } = {}): Promise<DeadLetter[]> {
    const where = this.conditions(opts.from ?? 0, opts.to ?? 9_000_000_000_000, {});
    const rows = await this.influxql(
      `SELECT "topic", "reason", "raw", "gateway", "device" FROM ${this.from(DEAD_LETTER_MEASUREMENT)} WHERE ${where} ORDER BY time DESC LIMIT ${Math.trunc(opts.limit ?? 100)}`,
    );
    const s = rows[0];
    if (!s) return [];
    const col = (name: string) => s.columns.indexOf(name);
    return s.values.map((r) => ({
      ts: r[col('time')] as number,
      topic: r[col('topic')] as string,
      gateway: (r[col('gateway')] as string | null) ?? null,
      device: (r[col('device')] as string | null) ?? null,
      reason: r[col('reason')] as string,
      raw: r[col('raw')] as string,
    }));
  }

  /** `from`/`to` bound the readings' timestamps (epoch ms, inclusive). */
  async sequences(gateway: string, from = 0, to = 9_000_000_000_000): Promise<number[]> {
    const rows = await this.influxql(`SELECT "seq" FROM ${this.from(/.*/)} WHERE ${this.conditions(from, to, { gateway })}`);
    const seqs: number[] = [];
    for (const s of rows) {
      const col = s.columns.indexOf('seq');
      for (const r of s.values) if (typeof r[col] === 'number' && (r[col] as number) >= 0) seqs.push(r[col] as number);
    }
    return seqs.sort((a, b) => a - b);
  }

  private assertWritable(): void {
    if (this.closed) throw new Error('store is closed');
    if (this.opts.readonly) throw new Error('store was opened read-only');
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Series of two consecutive time ranges joined per (device, ward, field), points in time order. */
function mergeSeries(a: Series[], b: Series[]): Series[] {
  const byKey = new Map<string, Series>();
  for (const s of [...a, ...b]) {
    const key = `${s.device}\0${s.ward}\0${s.field}`;
    const prev = byKey.get(key);
    if (prev) prev.points.push(...s.points);
    else byKey.set(key, { ...s, points: [...s.points] });
  }
  for (const s of byKey.values()) s.points.sort((x, y) => x[0] - y[0]);
  return [...byKey.values()];
}
