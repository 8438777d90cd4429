import type { Aggregate, StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { InfluxQLError } from './lexer';
import type { Expr, SelectStatement, ShowStatement, Source, Statement } from './parser';

/**
 * Answers InfluxQL statements over the configured TimeSeriesStore, in InfluxDB 1.x's JSON shape, so that
 * Grafana's built-in InfluxDB data source charts the embedded store too. The series index is the store's
 * latest reading per (kind, device): measurement = kind, tags device/gateway/ward, as the InfluxDB store
 * writes them. Windows are answered by the store (from its rollups where they fit).
 */
export interface InfluxQLContext {
  store: TimeSeriesStore;
  now: number;
  /** Wards the caller may read; undefined = all. */
  wards?: readonly string[];
  database: string;
  /** Raw points a statement may return (the store is the operations centre's, not a bulk export). */
  maxRawSpanMs: number;
  maxWindows: number;
}

export interface StatementResult {
  statement_id: number;
  series?: SeriesResult[];
  error?: string;
}

export interface SeriesResult {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: Array<Array<number | string | boolean | null>>;
}

const TAG_KEYS = ['device', 'gateway', 'ward'] as const;
type TagKey = (typeof TAG_KEYS)[number];
type Tags = Record<TagKey, string>;
interface SeriesKey extends Tags {
  kind: string;
  fields: string[];
}

const SELECTORS = new Set(['mean', 'min', 'max', 'last', 'first', 'sum', 'count']);

export async function executeStatements(statements: Statement[], ctx: InfluxQLContext): Promise<StatementResult[]> {
  let index: SeriesKey[] | undefined;
  const seriesIndex = async () => (index ??= await loadIndex(ctx));
  const out: StatementResult[] = [];
  for (const [i, stmt] of statements.entries()) {
    try {
      const series = stmt.type === 'select' ? await select(stmt, ctx, await seriesIndex()) : show(stmt, ctx, await seriesIndex());
      out.push(series.length ? { statement_id: i, series } : { statement_id: i });
    } catch (err) {
      if (!(err instanceof InfluxQLError)) throw err;
      out.push({ statement_id: i, error: err.message });
    }
  }
  return out;
}

async function loadIndex(ctx: InfluxQLContext): Promise<SeriesKey[]> {
  const latest: StoredReading[] = await ctx.store.latest();
  const wards = ctx.wards ? new Set(ctx.wards) : undefined;
  return latest
    .filter((r) => !wards || wards.has(r.ward))
    .map((r) => ({ kind: r.kind, device: r.device, gateway: r.gateway, ward: r.ward, fields: Object.keys(r.values) }));
}

// ---- WHERE: time bounds and a tag predicate ----

function timeValue(e: Expr, now: number): number {
  switch (e.type) {
    case 'call':
      if (e.name === 'now' && e.args.length === 0) return now;
      break;
    case 'duration':
      return e.ms;
    case 'number':
      return e.value / 1e6; // a bare integer is nanoseconds since the epoch
    case 'string': {
      const t = Date.parse(e.value);
      if (Number.isFinite(t)) return t;
      throw new InfluxQLError(`invalid operation: time and *influxql.StringLiteral are not compatible`);
    }
    case 'binary':
      if (e.op === '+') return timeValue(e.left, now) + timeValue(e.right, now);
      if (e.op === '-') return timeValue(e.left, now) - timeValue(e.right, now);
  }
  throw new InfluxQLError('invalid time condition');
}

const refersTo = (e: Expr, name: string): boolean =>
  (e.type === 'ref' && e.name.toLowerCase() === name) || (e.type === 'binary' && (refersTo(e.left, name) || refersTo(e.right, name)));

interface Where {
  from?: number;
  to?: number;
  tags: Expr[];
}

function splitWhere(e: Expr | undefined, now: number, into: Where = { tags: [] }): Where {
  if (!e) return into;
  if (e.type === 'binary' && e.op === 'and') {
    splitWhere(e.left, now, into);
    splitWhere(e.right, now, into);
    return into;
  }
  if (e.type === 'binary' && e.left.type === 'ref' && e.left.name.toLowerCase() === 'time') {
    const t = timeValue(e.right, now);
    const lower = (v: number) => (into.from = Math.max(into.from ?? -Infinity, v));
    const upper = (v: number) => (into.to = Math.min(into.to ?? Infinity, v));
    if (e.op === '>=') lower(t);
    else if (e.op === '>') lower(Math.floor(t) + 1);
    else if (e.op === '<=') upper(t);
    else if (e.op === '<') upper(Math.ceil(t) - 1);
    else if (e.op === '=') {
      lower(t);
      upper(t);
    } else throw new InfluxQLError('invalid time comparison operator: ' + e.op);
    return into;
  }
  if (refersTo(e, 'time')) throw new InfluxQLError('invalid time condition: time may only be combined with AND');
  into.tags.push(e);
  return into;
}

function literal(e: Expr): string | number | boolean {
  if (e.type === 'string') return e.value;
  if (e.type === 'number') return e.value;
  if (e.type === 'bool') return e.value;
  if (e.type === 'ref') return e.name;
  throw new InfluxQLError('unsupported condition');
}

function regexOf(source: string): RegExp {
  // Go's RE2 flags prefix (Grafana sends "(?i)…" for case-insensitive matches).
  const m = /^\(\?([a-z]+)\)/.exec(source);
  try {
    return m ? new RegExp(source.slice(m[0].length), m[1]!.includes('i') ? 'i' : '') : new RegExp(source);
  } catch {
    throw new InfluxQLError(`error parsing regexp: ${source}`);
  }
}

/** Evaluates a tag condition for one series; a tag the series lacks is the empty string, as in InfluxDB. */
function matches(e: Expr, tags: Tags): boolean {
  if (e.type !== 'binary') throw new InfluxQLError('unsupported condition');
  if (e.op === 'and') return matches(e.left, tags) && matches(e.right, tags);
  if (e.op === 'or') return matches(e.left, tags) || matches(e.right, tags);
  if (e.left.type !== 'ref') throw new InfluxQLError('unsupported condition');
  const key = e.left.name;
  if (!(TAG_KEYS as readonly string[]).includes(key))
    throw new InfluxQLError(`conditions on fields are not supported by this endpoint (only on tags: ${TAG_KEYS.join(', ')}): ${key}`);
  const have = tags[key as TagKey] ?? '';
  if (e.op === '=~' || e.op === '!~') {
    if (e.right.type !== 'regex') throw new InfluxQLError('expected regular expression');
    const hit = regexOf(e.right.source).test(have);
    return e.op === '=~' ? hit : !hit;
  }
  const want = String(literal(e.right));
  if (e.op === '=') return have === want;
  if (e.op === '!=') return have !== want;
  throw new InfluxQLError(`unsupported operator on a tag: ${e.op}`);
}

const sourceMatches = (source: Source | undefined, kind: string) =>
  !source || ('name' in source ? source.name === kind : regexOf(source.regex).test(kind));

// ---- SELECT ----

interface Column {
  name: string;
  /** The field the column reads. */
  field: string;
  /** Aggregate function, or undefined for a raw field. */
  fn?: string;
  /** The whole expression, to apply arithmetic around the field or call. */
  expr: Expr;
}

function columnsOf(stmt: SelectStatement, index: SeriesKey[], kind: string): Column[] {
  const cols: Column[] = [];
  const used = new Map<string, number>();
  const uniqueName = (base: string) => {
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  };
  for (const f of stmt.fields) {
    if (f.expr.type === 'wildcard') {
      const fields = [...new Set(index.filter((s) => s.kind === kind).flatMap((s) => s.fields))].sort();
      for (const field of fields) cols.push({ name: uniqueName(field), field, expr: { type: 'ref', name: field } });
      continue;
    }
    const found = findTerm(f.expr);
    if (!found) throw new InfluxQLError('at least 1 non-time field must be queried');
    const name = f.alias ?? found.fn ?? found.field;
    cols.push({ name: uniqueName(name), field: found.field, ...(found.fn ? { fn: found.fn } : {}), expr: f.expr });
  }
  const aggregated = cols.filter((c) => c.fn).length;
  if (aggregated && aggregated !== cols.length) throw new InfluxQLError('mixing aggregate and non-aggregate queries is not supported');
  return cols;
}

function findTerm(e: Expr): { field: string; fn?: string } | undefined {
  if (e.type === 'ref') return { field: e.name };
  if (e.type === 'call') {
    if (!SELECTORS.has(e.name))
      throw new InfluxQLError(`function ${e.name}() is not supported by this endpoint (supported: ${[...SELECTORS].join(', ')})`);
    const arg = e.args[0];
    if (e.args.length !== 1 || !arg || arg.type !== 'ref') throw new InfluxQLError(`expected field argument in ${e.name}()`);
    return { field: arg.name, fn: e.name };
  }
  if (e.type === 'binary' && ['+', '-', '*', '/'].includes(e.op)) {
    const l = findTerm(e.left);
    const r = findTerm(e.right);
    if (l && r) throw new InfluxQLError('binary expressions between two fields are not supported by this endpoint');
    return l ?? r;
  }
  return undefined;
}

/** Applies the arithmetic around a field or call (Grafana's "math" part) to its value. */
function evaluate(e: Expr, value: number | null): number | null {
  if (value === null) return null;
  switch (e.type) {
    case 'ref':
    case 'call':
      return value;
    case 'number':
      return e.value;
    case 'binary': {
      const l = evaluate(e.left, value);
      const r = evaluate(e.right, value);
      if (l === null || r === null) return null;
      if (e.op === '+') return l + r;
      if (e.op === '-') return l - r;
      if (e.op === '*') return l * r;
      if (e.op === '/') return r === 0 ? null : l / r;
    }
  }
  return value;
}

interface Group {
  tags: Record<string, string>;
  devices: string[];
}

function groupsOf(stmt: SelectStatement, series: SeriesKey[]): Group[] {
  const by = stmt.groupByTags === '*' ? [...TAG_KEYS] : stmt.groupByTags;
  const groups = new Map<string, Group>();
  for (const s of series) {
    const tags: Record<string, string> = {};
    for (const k of by) tags[k] = (TAG_KEYS as readonly string[]).includes(k) ? s[k as TagKey] : '';
    const key = JSON.stringify(by.map((k) => tags[k]));
    const g = groups.get(key) ?? { tags, devices: [] };
    g.devices.push(s.device);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => JSON.stringify(Object.values(a.tags)).localeCompare(JSON.stringify(Object.values(b.tags))));
}

async function select(stmt: SelectStatement, ctx: InfluxQLContext, index: SeriesKey[]): Promise<SeriesResult[]> {
  if (!('name' in stmt.source)) throw new InfluxQLError('a regular expression as measurement is not supported by this endpoint in SELECT');
  const kind = stmt.source.name;
  const where = splitWhere(stmt.where, ctx.now);
  if (where.from === undefined) throw new InfluxQLError('this endpoint needs a lower time bound (WHERE time >= …)');
  const from = Math.ceil(where.from);
  const to = Math.floor(where.to ?? ctx.now);
  if (to < from) return [];
  const series = index.filter((s) => s.kind === kind && where.tags.every((t) => matches(t, s)));
  const columns = columnsOf(stmt, index, kind);
  if (!series.length || !columns.length) return [];
  const groups = groupsOf(stmt, series);
  const aggregated = columns.some((c) => c.fn);
  if (!aggregated && stmt.groupByTime) throw new InfluxQLError('GROUP BY requires at least one aggregate function');
  let out: SeriesResult[];
  if (!aggregated) out = await rawSelect(stmt, ctx, kind, columns, groups, from, to);
  else out = await aggregateSelect(stmt, ctx, kind, columns, groups, from, to);
  for (const s of out) {
    if (stmt.descending) s.values.reverse();
    const offset = stmt.offset ?? 0;
    if (offset || stmt.limit !== undefined) s.values = s.values.slice(offset, stmt.limit !== undefined ? offset + stmt.limit : undefined);
  }
  const nonEmpty = out.filter((s) => s.values.length);
  const soffset = stmt.soffset ?? 0;
  return nonEmpty.slice(soffset, stmt.slimit !== undefined ? soffset + stmt.slimit : undefined);
}

function seriesResult(kind: string, group: Group, columns: Column[], values: SeriesResult['values']): SeriesResult {
  return {
    name: kind,
    ...(Object.keys(group.tags).length ? { tags: group.tags } : {}),
    columns: ['time', ...columns.map((c) => c.name)],
    values,
  };
}

async function rawSelect(
  stmt: SelectStatement,
  ctx: InfluxQLContext,
  kind: string,
  columns: Column[],
  groups: Group[],
  from: number,
  to: number,
): Promise<SeriesResult[]> {
  if (to - from > ctx.maxRawSpanMs)
    throw new InfluxQLError(
      `raw points only for up to ${ctx.maxRawSpanMs / 86_400_000} days by this endpoint: use an aggregate with GROUP BY time()`,
    );
  const fields = [...new Set(columns.map((c) => c.field))];
  const all = await ctx.store.query({ kind, fields, from, to, devices: groups.flatMap((g) => g.devices) });
  const out: SeriesResult[] = [];
  for (const group of groups) {
    const devices = new Set(group.devices);
    // (ts, device) → field values: one row per point of one series, as InfluxDB merges series.
    const rows = new Map<string, { ts: number; device: string; values: Map<string, number> }>();
    for (const s of all) {
      if (!devices.has(s.device)) continue;
      for (const [ts, v] of s.points) {
        const key = `${ts}\u0000${s.device}`;
        const row = rows.get(key) ?? { ts, device: s.device, values: new Map() };
        row.values.set(s.field, v);
        rows.set(key, row);
      }
    }
    const sorted = [...rows.values()].sort((a, b) => a.ts - b.ts || (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    out.push(
      seriesResult(
        kind,
        group,
        columns,
        sorted.map((r) => [r.ts, ...columns.map((c) => evaluate(c.expr, r.values.get(c.field) ?? null))]),
      ),
    );
  }
  return out;
}

/** Per window: what every supported function needs, merged across the devices of a group. */
interface Acc {
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  firstTs: number;
  last: number;
  lastTs: number;
}

const newAcc = (): Acc => ({
  count: 0,
  sum: 0,
  min: Infinity,
  max: -Infinity,
  first: NaN,
  firstTs: Infinity,
  last: NaN,
  lastTs: -Infinity,
});

function accValue(acc: Acc | undefined, fn: string): number | null {
  if (!acc || acc.count === 0) return fn === 'count' ? null : null;
  switch (fn) {
    case 'mean':
      return acc.sum / acc.count;
    case 'sum':
      return acc.sum;
    case 'count':
      return acc.count;
    case 'min':
      return acc.min;
    case 'max':
      return acc.max;
    case 'first':
      return acc.first;
    case 'last':
      return acc.last;
  }
  return null;
}

async function aggregateSelect(
  stmt: SelectStatement,
  ctx: InfluxQLContext,
  kind: string,
  columns: Column[],
  groups: Group[],
  from: number,
  to: number,
): Promise<SeriesResult[]> {
  const gt = stmt.groupByTime;
  if (gt && gt.offsetMs !== 0) throw new InfluxQLError('GROUP BY time() with an offset is not supported by this endpoint');
  if (stmt.fill.kind === 'linear') throw new InfluxQLError('fill(linear) is not supported by this endpoint');
  // Without GROUP BY time the whole range is one window, reported at its start, as InfluxDB does.
  const windowMs = gt?.ms;
  const windowOf = (ts: number) => (windowMs ? Math.floor(ts / windowMs) * windowMs : from);
  const firstWindow = windowOf(from);
  const lastWindow = windowOf(to);
  if (windowMs && (lastWindow - firstWindow) / windowMs + 1 > ctx.maxWindows)
    throw new InfluxQLError(
      `max-select-buckets limit exceeded: (${Math.floor((lastWindow - firstWindow) / windowMs) + 1}/${ctx.maxWindows})`,
    );
  const fields = [...new Set(columns.map((c) => c.field))];
  const fns = new Set(columns.map((c) => c.fn!));
  const devices = groups.flatMap((g) => g.devices);
  // device → field → window → accumulator
  const accs = new Map<string, Map<string, Map<number, Acc>>>();
  const accOf = (device: string, field: string, w: number) => {
    let byField = accs.get(device);
    if (!byField) accs.set(device, (byField = new Map()));
    let byWindow = byField.get(field);
    if (!byWindow) byField.set(field, (byWindow = new Map()));
    let acc = byWindow.get(w);
    if (!acc) byWindow.set(w, (acc = newAcc()));
    return acc;
  };
  const addPoints = (series: Array<{ device: string; field: string; points: Array<[number, number]> }>) => {
    for (const s of series) {
      for (const [ts, v] of s.points) {
        const acc = accOf(s.device, s.field, windowOf(ts));
        acc.count++;
        acc.sum += v;
        if (v < acc.min) acc.min = v;
        if (v > acc.max) acc.max = v;
        if (ts < acc.firstTs) [acc.first, acc.firstTs] = [v, ts];
        if (ts >= acc.lastTs) [acc.last, acc.lastTs] = [v, ts];
      }
    }
  };
  // The store answers whole windows aligned to the epoch (from its rollups where they fit); first/last need
  // each point's time, and so do windows the range cuts (its first and last), so those read raw points.
  const needsRaw = !windowMs || fns.has('first') || fns.has('last');
  if (needsRaw) {
    if (to - from > ctx.maxRawSpanMs)
      throw new InfluxQLError(
        `first(), last() and aggregates without GROUP BY time() only for up to ${ctx.maxRawSpanMs / 86_400_000} days by this endpoint`,
      );
    addPoints(await ctx.store.query({ kind, fields, from, to, devices }));
  } else {
    const wholeFrom = Math.ceil(from / windowMs) * windowMs;
    const wholeTo = Math.floor((to + 1) / windowMs) * windowMs - 1;
    if (wholeFrom > wholeTo) addPoints(await ctx.store.query({ kind, fields, from, to, devices }));
    else {
      if (from < wholeFrom) addPoints(await ctx.store.query({ kind, fields, from, to: wholeFrom - 1, devices }));
      if (wholeTo < to) addPoints(await ctx.store.query({ kind, fields, from: wholeTo + 1, to, devices }));
      const wanted: Aggregate[] = ['count'];
      if (fns.has('mean') || fns.has('sum')) wanted.push('sum');
      if (fns.has('min')) wanted.push('min');
      if (fns.has('max')) wanted.push('max');
      for (const aggregate of wanted) {
        for (const s of await ctx.store.query({ kind, fields, from: wholeFrom, to: wholeTo, devices, windowMs, aggregate })) {
          for (const [w, v] of s.points) {
            const acc = accOf(s.device, s.field, w);
            if (aggregate === 'count') acc.count = v;
            else if (aggregate === 'sum') acc.sum = v;
            else if (aggregate === 'min') acc.min = v;
            else if (aggregate === 'max') acc.max = v;
          }
        }
      }
    }
  }
  const out: SeriesResult[] = [];
  for (const group of groups) {
    // field → window → merged accumulator of the group's devices
    const merged = new Map<string, Map<number, Acc>>();
    for (const device of group.devices) {
      for (const [field, byWindow] of accs.get(device) ?? []) {
        let m = merged.get(field);
        if (!m) merged.set(field, (m = new Map()));
        for (const [w, a] of byWindow) {
          if (a.count === 0) continue;
          const into = m.get(w) ?? newAcc();
          into.count += a.count;
          into.sum += a.sum;
          into.min = Math.min(into.min, a.min);
          into.max = Math.max(into.max, a.max);
          if (a.firstTs < into.firstTs) [into.first, into.firstTs] = [a.first, a.firstTs];
          if (a.lastTs >= into.lastTs) [into.last, into.lastTs] = [a.last, a.lastTs];
          m.set(w, into);
        }
      }
    }
    const windows = new Set<number>();
    for (const m of merged.values()) for (const w of m.keys()) windows.add(w);
    if (windows.size === 0) continue;
    const starts: number[] = [];
    if (stmt.fill.kind === 'none' || !windowMs) starts.push(...[...windows].sort((a, b) => a - b));
    else for (let w = firstWindow; w <= lastWindow; w += windowMs) starts.push(w);
    const previous: Array<number | null> = columns.map(() => null);
    const values: SeriesResult['values'] = [];
    for (const w of starts) {
      const row: Array<number | null> = columns.map((c, i) => {
        let v = evaluate(c.expr, accValue(merged.get(c.field)?.get(w), c.fn!));
        if (v === null) {
          if (stmt.fill.kind === 'previous') v = previous[i]!;
          else if (stmt.fill.kind === 'number') v = stmt.fill.value;
        }
        previous[i] = v;
        return v;
      });
      values.push([w, ...row]);
    }
    out.push(seriesResult(kind, group, columns, values));
  }
  return out;
}

// ---- SHOW ----

function show(stmt: ShowStatement, ctx: InfluxQLContext, index: SeriesKey[]): SeriesResult[] {
  const where = splitWhere(stmt.where, ctx.now);
  const selected = index.filter((s) => sourceMatches(stmt.source, s.kind) && where.tags.every((t) => matches(t, s)));
  const kinds = [...new Set(selected.map((s) => s.kind))].sort();
  const page = <T>(rows: T[]) => rows.slice(stmt.offset ?? 0, stmt.limit !== undefined ? (stmt.offset ?? 0) + stmt.limit : undefined);
  switch (stmt.what) {
    case 'databases':
      return [{ name: 'databases', columns: ['name'], values: [[ctx.database]] }];
    case 'retention policies':
      return [
        {
          name: '',
          columns: ['name', 'duration', 'shardGroupDuration', 'replicaN', 'default'],
          values: [['autogen', '0s', '168h0m0s', 1, true]],
        },
      ].map(({ name: _n, ...rest }) => rest as SeriesResult);
    case 'measurements': {
      let names = kinds;
      const wm = stmt.withMeasurement;
      if (wm) names = names.filter((k) => (wm.op === '=' ? k === wm.value : regexOf(wm.value).test(k)));
      const rows = page(names);
      return rows.length ? [{ name: 'measurements', columns: ['name'], values: rows.map((k) => [k]) }] : [];
    }
    case 'tag keys':
      return kinds.map((k) => ({ name: k, columns: ['tagKey'], values: page([...TAG_KEYS]).map((t) => [t]) }));
    case 'field keys':
      return kinds.map((k) => {
        const fields = [...new Set(selected.filter((s) => s.kind === k).flatMap((s) => s.fields))];
        const rows: Array<[string, string]> = [...fields.map((f): [string, string] => [f, 'float']), ['seq', 'integer']];
        rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        return { name: k, columns: ['fieldKey', 'fieldType'], values: page(rows) };
      });
    case 'tag values': {
      const wk = stmt.withKey!;
      const keyWanted = (key: string) =>
        wk.op === 'in'
          ? wk.values.includes(key)
          : wk.op === '='
            ? key === wk.values[0]
            : wk.op === '!='
              ? key !== wk.values[0]
              : regexOf(wk.values[0]!).test(key) === (wk.op === '=~');
      const keys = TAG_KEYS.filter(keyWanted);
      const out: SeriesResult[] = [];
      for (const k of kinds) {
        const pairs = new Set<string>();
        for (const s of selected) if (s.kind === k) for (const key of keys) if (s[key]) pairs.add(JSON.stringify([key, s[key]]));
        const rows = page(
          [...pairs]
            .map((p) => JSON.parse(p) as [string, string])
            .sort((a, b) => (a[0] + '\u0000' + a[1] < b[0] + '\u0000' + b[1] ? -1 : 1)),
        );
        if (rows.length) out.push({ name: k, columns: ['key', 'value'], values: rows });
      }
      return out;
    }
  }
}
