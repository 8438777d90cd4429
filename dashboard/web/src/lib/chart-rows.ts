import type { Series } from '../api/types';

export type ChartRow = Record<string, number>;

/** Rows keyed by time, one column per series, as recharts wants them. */
export function toRows(series: Series[], key: (s: Series) => string): ChartRow[] {
  const rows = new Map<number, ChartRow>();
  for (const s of series) {
    const k = key(s);
    for (const [ts, v] of s.points) {
      let row = rows.get(ts);
      if (!row) rows.set(ts, (row = { ts }));
      row[k] = v;
    }
  }
  return [...rows.values()].sort((a, b) => a.ts! - b.ts!);
}

/**
 * Min/max decimation for rows beyond what a chart can show: each time bucket becomes two rows holding every
 * series' minimum then maximum, so peaks (and limit breaches) survive while the point count stays bounded.
 * With room for a single row, that row holds each series' maximum.
 */
export function decimate(rows: ChartRow[], names: string[], maxRows: number): ChartRow[] {
  if (rows.length <= maxRows) return rows;
  const perBucket = maxRows >= 2 ? 2 : 1;
  const buckets = Math.max(1, Math.floor(maxRows / perBucket));
  const t0 = rows[0]!.ts!;
  const span = rows[rows.length - 1]!.ts! - t0 || 1;
  const out: ChartRow[] = [];
  let i = 0;
  for (let b = 0; b < buckets; b++) {
    const end = t0 + ((b + 1) * span) / buckets;
    const lo: ChartRow = { ts: t0 + (b * span) / buckets };
    const hi: ChartRow = { ts: t0 + ((b + 0.5) * span) / buckets };
    let any = false;
    for (; i < rows.length && (rows[i]!.ts! < end || b === buckets - 1); i++) {
      const row = rows[i]!;
      any = true;
      for (const n of names) {
        const v = row[n];
        if (v === undefined) continue;
        if (lo[n] === undefined || v < lo[n]!) lo[n] = v;
        if (hi[n] === undefined || v > hi[n]!) hi[n] = v;
      }
    }
    if (any) {
      if (perBucket === 2) out.push(lo, hi);
      else out.push(hi);
    }
  }
  return out;
}

/**
 * The one place a line chart's data is bounded: the rows recharts gets for a plot `widthPx` wide, never more
 * than one per pixel (the server already fits its windows to the width; this holds for any answer).
 */
export function chartRows(series: Series[], key: (s: Series) => string, widthPx: number): ChartRow[] {
  const names = [...new Set(series.map(key))];
  return decimate(toRows(series, key), names, Math.max(1, Math.floor(widthPx)));
}

/** A tick step of 1, 2, 2.5 or 5 × 10ⁿ near `raw`. */
function niceStep(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * magnitude;
}

/**
 * The value axis' range for these rows: from 0 (or the lowest value below it) to the highest value, widened to
 * whole tick steps, as recharts' automatic domain would.
 */
export function valueDomain(rows: readonly ChartRow[], names: readonly string[], ticks = 5): [number, number] {
  let lo = 0;
  let hi = -Infinity;
  for (const row of rows)
    for (const n of names) {
      const v = row[n];
      if (v === undefined) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (!Number.isFinite(hi) || hi <= lo) hi = lo + 1;
  const step = niceStep((hi - lo) / (ticks - 1));
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}
