import {
  CLOCK_MARKS,
  windowClock,
  type Aggregate,
  type ClockMark,
  type DeadLetter,
  type LatestFilter,
  type RangeQuery,
  type Series,
  type StoredReading,
  type TimeSeriesStore,
} from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { VictoriaStoreConfig } from '../config';
import { CLOCK_FIELD, escapeMeasurement, escapeTagOrKey } from '../influx/line-protocol';
import { aggregateFunction, escapeRegex, labelMatchers, metricName, quote, regexOf } from './metricsql';

const DAY_MS = 86_400_000;
/** VictoriaMetrics truncates label values beyond 16 KiB (`-maxLabelValueLen`); a dead letter's raw payload is cut well below. */
export const MAX_DEAD_LETTER_RAW = 8_000;

/** A clock mark as the number its series holds (series carry numbers only): its place in CLOCK_MARKS, from 1. */
const markCode = (mark: ClockMark) => CLOCK_MARKS.indexOf(mark) + 1;
const markOf = (code: number): ClockMark | undefined => CLOCK_MARKS[code - 1];

interface PromSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

/**
 * VictoriaMetrics: readings written as InfluxDB line protocol (`/write`), read through its Prometheus-compatible
 * query API (`/api/v1/query`, `/api/v1/query_range`). One line per reading: measurement `city` (so a kind with an
 * underscore cannot be confused with its field), tags kind/device/gateway/ward (and `era` when not 0), one field
 * per value plus `seq`; VictoriaMetrics turns each field into a series `city_{field}{kind,device,era,gateway,ward}`.
 *
 * Identity: VictoriaMetrics keeps one sample per series per millisecond (`-dedup.minScrapeInterval=1ms`), so a
 * redelivered (gateway, seq) collapses to one sample. Two readings of one device in the same millisecond are
 * kept apart only by their series: another gateway, or another clock era of the same gateway (a clock that went
 * backwards, readingSchema `era`). Within one (gateway, era) the edge stamps a device's readings in strictly
 * increasing time, so that is every case a gateway produces; the limit is a writer that breaks that promise (two
 * readings of one device, one gateway, one era, one millisecond: the one with the larger value is kept).
 * Aggregates combine a device's series per window (a mean is Σ sums / Σ counts).
 */
export class VictoriaStore implements TimeSeriesStore {
  private readonly writeBase: string;
  private readonly queryBase: string;
  private readonly prefix: string;
  private deadLetterCounter = 0;
  private closed = false;

  constructor(
    private readonly config: VictoriaStoreConfig,
    private readonly opts: { logger?: Logger; readonly?: boolean } = {},
  ) {
    const base = config.url?.replace(/\/$/, '');
    this.writeBase = (config.writeUrl ?? base)!.replace(/\/$/, '');
    this.queryBase = (config.queryUrl ?? base)!.replace(/\/$/, '');
    this.prefix = `${config.measurement}_`;
  }

  async init(): Promise<void> {
    if (!this.config.url) return;
    try {
      const res = await fetch(`${this.config.url.replace(/\/$/, '')}/health`, { signal: AbortSignal.timeout(this.config.timeoutMs) });
      this.opts.logger?.info({ url: this.config.url, status: res.status }, 'VictoriaMetrics answers');
    } catch (err) {
      this.opts.logger?.warn({ err, url: this.config.url }, 'VictoriaMetrics does not answer /health yet');
    }
  }

  async writeBatch(readings: StoredReading[]): Promise<void> {
    if (readings.length === 0) return;
    const m = escapeMeasurement(this.config.measurement);
    let body = '';
    for (const r of readings) {
      let fields = '';
      for (const name in r.values) {
        const v = r.values[name]!;
        if (!Number.isFinite(v)) throw new Error(`reading ${r.kind}/${r.device}@${r.ts}: ${name} is not finite`);
        fields += `${escapeTagOrKey(name)}=${v},`;
      }
      const tags = [
        `device=${escapeTagOrKey(r.device)}`,
        r.era ? `era=${r.era}` : '',
        r.gateway ? `gateway=${escapeTagOrKey(r.gateway)}` : '',
        `kind=${escapeTagOrKey(r.kind)}`,
        r.ward ? `ward=${escapeTagOrKey(r.ward)}` : '',
      ]
        .filter(Boolean)
        .join(',');
      const mark = r.clock ? `,${CLOCK_FIELD}=${markCode(r.clock)}` : '';
      body += `${m},${tags} ${fields}seq=${r.seq}${mark} ${Math.trunc(r.ts)}000000\n`;
    }
    await this.post(body);
  }

  async writeDeadLetters(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    let body = '';
    for (const l of letters) {
      const raw = l.raw.length > MAX_DEAD_LETTER_RAW ? `${l.raw.slice(0, MAX_DEAD_LETTER_RAW)}…[truncated]` : l.raw;
      // The whole letter is one label (base64url of its JSON): labels are the only strings a series carries.
      const letter = Buffer.from(JSON.stringify({ ...l, raw, n: this.deadLetterCounter++ })).toString('base64url');
      body += `${escapeMeasurement(this.config.measurement)}_dead_letter,letter=${letter} n=1 ${Math.trunc(l.ts)}000000\n`;
    }
    await this.post(body);
  }

  private async post(body: string): Promise<void> {
    if (this.opts.readonly) throw new Error('store was opened read-only');
    if (this.closed) throw new Error('store is closed');
    const res = await fetch(`${this.writeBase}/write`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain' },
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    if (!res.ok) throw new Error(`VictoriaMetrics /write answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
    if (this.config.flushAfterWrite && this.config.url) {
      // Single node: in-memory rows to disk now, so the batch is durable (and readable) when this resolves.
      const flushed = await fetch(`${this.config.url.replace(/\/$/, '')}/internal/force_flush`, {
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      if (!flushed.ok) throw new Error(`VictoriaMetrics /internal/force_flush answered ${flushed.status}`);
    }
  }

  /** One Prometheus API call; `path` is `query` or `query_range`. */
  private async prom(path: 'query' | 'query_range', params: Record<string, string>): Promise<PromSeries[]> {
    const res = await fetch(`${this.queryBase}/api/v1/${path}`, {
      method: 'POST',
      body: new URLSearchParams(params),
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    const json = (await res.json().catch(() => undefined)) as
      { status?: string; error?: string; data?: { result: PromSeries[] } } | undefined;
    if (!res.ok || json?.status !== 'success')
      throw new Error(`VictoriaMetrics ${path} failed (${res.status}): ${json?.error ?? 'no answer'}`);
    return json.data!.result;
  }

  /** Raw samples of `selector` with from ≤ ts ≤ to (a range selector evaluated at `to`: the range is (to - range, to]). */
  private raw(selector: string, from: number, to: number): Promise<PromSeries[]> {
    return this.prom('query', { query: `${selector}[${Math.max(1, to - from + 1)}ms]`, time: seconds(to) });
  }

  async query(q: RangeQuery): Promise<Series[]> {
    if (q.fields.length === 0 || (q.devices && q.devices.length === 0) || q.to < q.from) return [];
    const filters = { kind: q.kind, ward: q.ward, devices: q.devices };
    const out: Series[] = [];
    /** Per device, the clock marks of its readings by time (the series `{prefix}_clock`). */
    const marks = new Map<string, Map<number, ClockMark>>();
    const clockName = metricName(this.prefix, CLOCK_FIELD);
    const addMarks = (s: PromSeries) => {
      const device = s.metric.device ?? '';
      const byTs = marks.get(device) ?? new Map<number, ClockMark>();
      marks.set(device, byTs);
      for (const [t, v] of s.values ?? []) {
        const mark = markOf(Number(v));
        if (mark) byTs.set(ms(t), mark);
      }
    };
    if (q.windowMs === undefined) {
      const selector = `{${labelMatchers({ ...filters, name: regexOf([...q.fields.map((f) => metricName(this.prefix, f)), clockName]) })}}`;
      for (const s of await this.raw(selector, q.from, q.to)) {
        if (s.metric.__name__ === clockName) {
          addMarks(s);
          continue;
        }
        out.push({
          device: s.metric.device ?? '',
          ward: s.metric.ward ?? '',
          field: s.metric.__name__!.slice(this.prefix.length),
          points: (s.values ?? []).map(([t, v]) => [ms(t), Number(v)]),
        });
      }
    } else {
      if (!(q.windowMs > 0)) throw new Error(`windowMs must be positive, got ${q.windowMs}`);
      const w = Math.trunc(q.windowMs);
      // Windows aligned to the epoch like the other stores: the window [B, B + w) is the rollup over (t - w, t] at t = B + w - 1 ms.
      const first = Math.floor(q.from / w) * w;
      const last = Math.floor(q.to / w) * w;
      const aggregate = q.aggregate ?? 'mean';
      const range = (query: string) =>
        this.prom('query_range', { query, start: seconds(first + w - 1), end: seconds(last + w - 1), step: `${w}ms`, nocache: '1' });
      const windows = (s: PromSeries) => (s.values ?? []).map(([t, v]): [number, number] => [ms(t) - w + 1, Number(v)]);
      for (const field of q.fields) {
        const selector = `{${labelMatchers({ ...filters, name: escapeRegex(metricName(this.prefix, field)) })}}`;
        const rollup = (fn: Aggregate) => `${aggregateFunction(fn)}(${selector}[${w}ms])`;
        if (aggregate === 'last') {
          // Per series, then the sample latest in time wins among a device's series (gateways, eras).
          const [values, stamps] = await Promise.all([range(rollup('last')), range(`tlast_over_time(${selector}[${w}ms])`)]);
          out.push(...lastAcrossSeries(values, stamps, field, windows));
          continue;
        }
        const combine = COMBINE[aggregate];
        for (const s of await range(combine(rollup)))
          out.push({ device: s.metric.device ?? '', ward: s.metric.ward ?? '', field, points: windows(s) });
      }
      // The marks of the readings the windows hold (whole windows), only when there are windows to mark.
      if (out.some((s) => s.points.length > 0))
        for (const s of await this.raw(`{${labelMatchers({ ...filters, name: escapeRegex(clockName) })}}`, first, last + w - 1))
          addMarks(s);
    }
    const merged = mergeByKey(out, q.fields);
    for (const s of merged) {
      const byTs = marks.get(s.device);
      if (!byTs) continue;
      const clock =
        q.windowMs === undefined
          ? s.points.flatMap(([t]): Array<[number, ClockMark]> => (byTs.has(t) ? [[t, byTs.get(t)!]] : []))
          : windowClock(byTs, Math.trunc(q.windowMs), s.points);
      if (clock.length > 0) s.clock = clock;
    }
    return merged;
  }

  async latest(filter: LatestFilter = {}): Promise<StoredReading[]> {
    if (filter.devices && filter.devices.length === 0) return [];
    const now = Date.now();
    const step = `${this.config.latestLookbackDays * DAY_MS}ms`;
    const matchers = labelMatchers({
      kind: filter.kind,
      ward: filter.ward,
      devices: filter.devices,
      name: `${escapeRegex(this.prefix)}.+`,
    });
    // The newest value of every series; a plain selector's value is stamped with the query time, so the sample
    // times come from timestamp(), one metric name at a time (timestamp() drops the name).
    const values = await this.prom('query', { query: `{${matchers}}`, time: seconds(now), step });
    const names = [...new Set(values.map((s) => s.metric.__name__!))];
    const stamps = new Map<string, number>();
    for (const name of names) {
      const sel = labelMatchers({ kind: filter.kind, ward: filter.ward, devices: filter.devices, name: escapeRegex(name) });
      for (const s of await this.prom('query', { query: `timestamp({${sel}})`, time: seconds(now), step }))
        stamps.set(`${name}|${seriesKey(s.metric)}`, Math.round(Number(s.value![1]) * 1000));
    }
    const byDevice = new Map<string, { reading: StoredReading; fields: Array<[string, number, number]> }>();
    for (const s of values) {
      const name = s.metric.__name__!;
      const ts = stamps.get(`${name}|${seriesKey(s.metric)}`);
      if (ts === undefined) continue;
      const key = `${s.metric.kind}|${s.metric.device}`;
      let d = byDevice.get(key);
      if (!d)
        byDevice.set(
          key,
          (d = {
            reading: {
              kind: s.metric.kind ?? '',
              device: s.metric.device ?? '',
              gateway: s.metric.gateway ?? '',
              ward: s.metric.ward ?? '',
              ts,
              seq: 0,
              values: {},
            },
            fields: [],
          }),
        );
      d.fields.push([name.slice(this.prefix.length), ts, Number(s.value![1])]);
      if (ts > d.reading.ts || (ts === d.reading.ts && name === `${this.prefix}seq`))
        Object.assign(d.reading, { ts, gateway: s.metric.gateway ?? '', ward: s.metric.ward ?? '' });
    }
    const out: StoredReading[] = [];
    for (const { reading, fields } of byDevice.values()) {
      for (const [field, ts, v] of fields) {
        if (ts !== reading.ts) continue;
        if (field === 'seq') reading.seq = v;
        else if (field === CLOCK_FIELD) {
          const mark = markOf(v);
          if (mark) reading.clock = mark;
        } else reading.values[field] = v;
      }
      out.push(reading);
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.device.localeCompare(b.device));
  }

  async deadLetters(opts: { from?: number; to?: number; limit?: number } = {}): Promise<DeadLetter[]> {
    const to = opts.to ?? Date.now();
    const from = opts.from ?? to - this.config.latestLookbackDays * DAY_MS;
    if (to < from) return [];
    const letters: Array<DeadLetter & { n: number }> = [];
    for (const s of await this.raw(`{__name__=${quote(`${this.prefix}dead_letter_n`)}}`, from, to)) {
      const l = JSON.parse(Buffer.from(s.metric.letter ?? '', 'base64url').toString('utf8')) as DeadLetter & { n: number };
      for (const [t] of s.values ?? []) letters.push({ ...l, ts: ms(t) });
    }
    letters.sort((a, b) => b.ts - a.ts || b.n - a.n);
    return letters.slice(0, opts.limit ?? letters.length).map(({ n: _n, ...l }) => l);
  }

  async sequences(gateway: string, from?: number, to?: number): Promise<number[]> {
    // Unbounded: readings stamped ahead of the server's clock too (a gateway clock set days ahead).
    const end = to ?? Date.now() + this.config.latestLookbackDays * DAY_MS;
    const start = from ?? Date.now() - this.config.latestLookbackDays * DAY_MS;
    if (end < start) return [];
    const seqs: number[] = [];
    for (const s of await this.raw(`{__name__=${quote(`${this.prefix}seq`)},gateway=${quote(gateway)}}`, start, end)) {
      for (const [, v] of s.values ?? []) {
        const seq = Number(v);
        // Derived values are stored with seq -1 under their source's gateway: not gateway readings.
        if (seq >= 0) seqs.push(seq);
      }
    }
    return seqs.sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A rollup over every series of a (device, ward): one per gateway and clock era it was read under. */
const by = (fn: string, expr: string) => `${fn} by (device, ward) (${expr})`;
const COMBINE: Record<Exclude<Aggregate, 'last'>, (rollup: (fn: Aggregate) => string) => string> = {
  mean: (r) => `${by('sum', r('sum'))} / ${by('sum', r('count'))}`,
  sum: (r) => by('sum', r('sum')),
  count: (r) => by('sum', r('count')),
  min: (r) => by('min', r('min')),
  max: (r) => by('max', r('max')),
};

/** `last` per window of each (device, ward): the value of the series whose last sample is latest. */
function lastAcrossSeries(
  values: PromSeries[],
  stamps: PromSeries[],
  field: string,
  windows: (s: PromSeries) => Array<[number, number]>,
): Series[] {
  const stampOf = new Map<string, Map<number, number>>();
  for (const s of stamps) stampOf.set(seriesKey(s.metric), new Map(windows(s)));
  const best = new Map<string, { device: string; ward: string; at: Map<number, [stamp: number, value: number]> }>();
  for (const s of values) {
    const device = s.metric.device ?? '';
    const ward = s.metric.ward ?? '';
    const key = `${device}|${ward}`;
    let b = best.get(key);
    if (!b) best.set(key, (b = { device, ward, at: new Map() }));
    const stamp = stampOf.get(seriesKey(s.metric));
    for (const [t, v] of windows(s)) {
      const st = stamp?.get(t) ?? -Infinity;
      const had = b.at.get(t);
      if (!had || st > had[0]) b.at.set(t, [st, v]);
    }
  }
  return [...best.values()].map((b) => ({
    device: b.device,
    ward: b.ward,
    field,
    points: [...b.at].map(([t, [, v]]): [number, number] => [t, v]).sort((x, y) => x[0] - y[0]),
  }));
}

const seconds = (msEpoch: number) => (msEpoch / 1000).toFixed(3);
const ms = (secondsEpoch: number) => Math.round(secondsEpoch * 1000);
const seriesKey = (m: Record<string, string>) => `${m.kind}|${m.device}|${m.gateway}|${m.ward}|${m.era ?? ''}`;

/** One series per (device, ward, field): a device that moved gateway has two series on the server. */
function mergeByKey(series: Series[], fields: string[]): Series[] {
  const byKey = new Map<string, Series>();
  for (const s of series) {
    if (s.points.length === 0) continue;
    const key = `${s.device}|${s.ward}|${s.field}`;
    const had = byKey.get(key);
    if (had) had.points.push(...s.points);
    else byKey.set(key, { ...s, points: [...s.points] });
  }
  const out = [...byKey.values()];
  for (const s of out) s.points.sort((a, b) => a[0] - b[0]);
  return out.sort((a, b) => a.device.localeCompare(b.device) || fields.indexOf(a.field) - fields.indexOf(b.field));
}
