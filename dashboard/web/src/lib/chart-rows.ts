import type { Series } from '../api/types';

/**
 * A line chart's data as columns: one time axis and, per series name, a value per time (NaN: none). Typed
 * arrays, not one object per row with a key per series: a city-wide chart has dozens of series, and building,
 * reading and collecting those objects was a large part of its render.
 */
export interface ChartColumns {
  /** Row times, ascending. */
  ts: Float64Array;
  names: string[];
  /** `values[i][r]`: series `names[i]` at `ts[r]`, NaN where it has no value. */
  values: Float64Array[];
}

/** Every series' points on one time axis (series with the same name share a column; the later one wins). */
export function toColumns(series: readonly Series[], key: (s: Series) => string): ChartColumns {
  return sameTimes(series) ? sharedTimeColumns(series, key) : unionTimeColumns(series, key);
}

/** Every series has points at the same times (a windowed answer without holes: the usual case). */
function sameTimes(series: readonly Series[]): boolean {
  const first = series[0]?.points;
  if (!first) return false;
  for (let i = 1; i < first.length; i++) if (!(first[i]![0] > first[i - 1]![0])) return false;
  for (const s of series) {
    if (s.points.length !== first.length) return false;
    for (let i = 0; i < first.length; i++) if (s.points[i]![0] !== first[i]![0]) return false;
  }
  return true;
}

/**
 * Columns straight from the points when the times are shared: no set of times and row lookup per point (they
 * run once per answer, before the JIT has warmed to them, and were most of building the columns).
 */
function sharedTimeColumns(series: readonly Series[], key: (s: Series) => string): ChartColumns {
  const first = series[0]!.points;
  const ts = Float64Array.from(first, (p) => p[0]);
  const names: string[] = [];
  const values: Float64Array[] = [];
  const nameIndex = new Map<string, number>();
  for (const s of series) {
    const k = key(s);
    let c = nameIndex.get(k);
    if (c === undefined) {
      nameIndex.set(k, (c = names.push(k) - 1));
      values.push(new Float64Array(ts.length).fill(NaN));
    }
    const column = values[c]!;
    for (let i = 0; i < s.points.length; i++) column[i] = s.points[i]![1];
  }
  return { ts, names, values };
}

function unionTimeColumns(series: readonly Series[], key: (s: Series) => string): ChartColumns {
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const times = new Set<number>();
  for (const s of series) {
    const k = key(s);
    if (!nameIndex.has(k)) nameIndex.set(k, names.push(k) - 1);
    for (const p of s.points) times.add(p[0]);
  }
  const ts = Float64Array.from(times).sort();
  const row = new Map<number, number>();
  ts.forEach((t, r) => row.set(t, r));
  const values = names.map(() => new Float64Array(ts.length).fill(NaN));
  for (const s of series) {
    const column = values[nameIndex.get(key(s))!]!;
    for (const [t, v] of s.points) column[row.get(t)!] = v;
  }
  return { ts, names, values };
}

/**
 * Min/max decimation for rows beyond what a chart can show: each time bucket becomes two rows holding every
 * series' minimum then maximum, so peaks (and limit breaches) survive while the point count stays bounded.
 * With room for a single row, that row holds each series' maximum.
 */
export function decimate(data: ChartColumns, maxRows: number): ChartColumns {
  const n = data.ts.length;
  if (n <= maxRows) return data;
  const perBucket = maxRows >= 2 ? 2 : 1;
  const buckets = Math.max(1, Math.floor(maxRows / perBucket));
  const t0 = data.ts[0]!;
  const span = data.ts[n - 1]! - t0 || 1;
  const outTs: number[] = [];
  const out = data.values.map(() => [] as number[]);
  let i = 0;
  for (let b = 0; b < buckets; b++) {
    const end = t0 + ((b + 1) * span) / buckets;
    const from = i;
    while (i < n && (data.ts[i]! < end || b === buckets - 1)) i++;
    if (i === from) continue;
    if (perBucket === 2) outTs.push(t0 + (b * span) / buckets, t0 + ((b + 0.5) * span) / buckets);
    else outTs.push(t0 + ((b + 0.5) * span) / buckets);
    data.values.forEach((column, c) => {
      let lo = NaN;
      let hi = NaN;
      for (let r = from; r < i; r++) {
        const v = column[r]!;
        if (Number.isNaN(v)) continue;
        if (Number.isNaN(lo) || v < lo) lo = v;
        if (Number.isNaN(hi) || v > hi) hi = v;
      }
      if (perBucket === 2) out[c]!.push(lo, hi);
      else out[c]!.push(hi);
    });
  }
  return { ts: Float64Array.from(outTs), names: data.names, values: out.map((c) => Float64Array.from(c)) };
}

/**
 * The one place a line chart's data is bounded: the rows a plot `widthPx` wide is given, never more than one
 * per pixel (the server already fits its windows to the width; this holds for any answer).
 */
export function chartColumns(series: readonly Series[], key: (s: Series) => string, widthPx: number): ChartColumns {
  return decimate(toColumns(series, key), Math.max(1, Math.floor(widthPx)));
}

/** The values at row `r`, by series name (series without one are left out): what a tooltip lists. */
export function rowValues(data: ChartColumns, r: number): Map<string, number> {
  const out = new Map<string, number>();
  data.values.forEach((column, c) => {
    const v = column[r]!;
    if (!Number.isNaN(v)) out.set(data.names[c]!, v);
  });
  return out;
}

/** A series' last value (undefined: none). */
export function lastValue(data: ChartColumns, c: number): number | undefined {
  const column = data.values[c];
  if (!column) return undefined;
  for (let r = column.length - 1; r >= 0; r--) if (!Number.isNaN(column[r]!)) return column[r];
  return undefined;
}

/** A tick step of 1, 2, 2.5 or 5 × 10ⁿ near `raw`. */
function niceStep(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * magnitude;
}

/**
 * The value axis' range for this data: from 0 (or the lowest value below it) to the highest value, widened to
 * whole tick steps, as recharts' automatic domain would.
 */
export function valueDomain(data: ChartColumns, ticks = 5): [number, number] {
  let lo = 0;
  let hi = -Infinity;
  for (const column of data.values)
    for (let r = 0; r < column.length; r++) {
      const v = column[r]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (!Number.isFinite(hi) || hi <= lo) hi = lo + 1;
  const step = niceStep((hi - lo) / (ticks - 1));
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}
