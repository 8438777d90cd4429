import { reduceByDevice } from '@tamky/protocol/series';
import { memo, useCallback, useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Query } from '../api/client';
import type { Series } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { seriesColor, seriesDash } from '../lib/palette';
import { CsvButton } from './CsvButton';

export interface LimitLine {
  value: number;
  label: string;
}

export interface TrendQuery {
  kind: string;
  fields: string[];
  from: number;
  to: number;
  windowMs?: number;
  aggregate?: string;
  devices?: string[];
  ward?: string;
}

/** Rows keyed by time, one column per series, as recharts wants them. */
export function toRows(series: Series[], key: (s: Series) => string): Array<Record<string, number>> {
  const rows = new Map<number, Record<string, number>>();
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
 */
export function decimate(rows: Array<Record<string, number>>, names: string[], maxRows = 500): Array<Record<string, number>> {
  if (rows.length <= maxRows) return rows;
  const buckets = Math.floor(maxRows / 2);
  const t0 = rows[0]!.ts!;
  const span = rows[rows.length - 1]!.ts! - t0 || 1;
  const out: Array<Record<string, number>> = [];
  let i = 0;
  for (let b = 0; b < buckets; b++) {
    const end = t0 + ((b + 1) * span) / buckets;
    const lo: Record<string, number> = { ts: t0 + (b * span) / buckets };
    const hi: Record<string, number> = { ts: t0 + ((b + 0.5) * span) / buckets };
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
    if (any) out.push(lo, hi);
  }
  return out;
}

/**
 * A line chart of /api/history with its own CSV export. Series are named by `label` (ward or device name);
 * limit lines (QCVN) are drawn as labelled reference lines.
 */
function TrendChartInner({
  title,
  query,
  label,
  unit,
  limits = [],
  height = 280,
  spanMs,
  large = false,
  reduce,
  showTitle = true,
}: {
  title: string;
  query: TrendQuery;
  label(s: Series): string;
  unit: string;
  limits?: LimitLine[];
  height?: number;
  spanMs: number;
  large?: boolean;
  reduce?: 'sum' | 'mean';
  showTitle?: boolean;
}) {
  const { t, num, time, shortDate } = useI18n();
  const apiQuery: Query = { ...query, fields: query.fields.join(','), devices: query.devices?.join(',') };
  const { data, error, loading } = useApi<{ series: Series[] }>('/api/history', apiQuery);
  const series = useMemo(() => (reduce ? reduceByDevice(data?.series ?? [], reduce) : (data?.series ?? [])), [data, reduce]);
  const perField = query.fields.length > 1 && !reduce;
  const name = useCallback((s: Series) => (perField ? `${label(s)} · ${s.field}` : label(s)), [label, perField]);
  const names = useMemo(() => [...new Set(series.map(name))], [series, name]);
  const rows = useMemo(() => decimate(toRows(series, name), [...new Set(series.map(name))]), [series, name]);
  const fmtTick = (ts: number) => (spanMs > 86_400_000 ? shortDate(ts) : time(ts));
  const latest = names
    .slice(0, 6)
    .map((n) => {
      const last = [...rows].reverse().find((r) => r[n] !== undefined);
      return `${n} ${num(last?.[n], 1)}`;
    })
    .join('; ');
  const fontSize = large ? 'clamp(12px, 1vw, 28px)' : 12;
  return (
    <figure className="chart" aria-busy={loading}>
      <figcaption className="chart-head">
        <span className={showTitle ? 'chart-title' : 'sr-only'}>
          {title} {unit && <span className="muted">({unit})</span>}
        </span>
        <CsvButton query={reduce ? { ...apiQuery, reduce } : apiQuery} title={title} />
      </figcaption>
      {error ? (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      ) : rows.length === 0 ? (
        <p className="muted chart-empty">{loading ? t('app.loading') : t('app.noData')}</p>
      ) : (
        <div style={{ width: '100%', height }} data-testid="chart">
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }} accessibilityLayer={false}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--grid)" />
              <XAxis
                dataKey="ts"
                type="number"
                scale="time"
                domain={[query.from, query.to]}
                tickFormatter={fmtTick}
                stroke="var(--muted)"
                tick={{ fontSize }}
              />
              <YAxis stroke="var(--muted)" tick={{ fontSize }} width={large ? 80 : 56} tickFormatter={(v: number) => num(v, 1)} />
              <Tooltip labelFormatter={(ts) => `${shortDate(Number(ts))} ${time(Number(ts))}`} formatter={(v) => num(Number(v), 2)} />
              <Legend wrapperStyle={{ fontSize }} />
              {limits.map((l) => (
                <ReferenceLine
                  key={l.label}
                  y={l.value}
                  stroke="var(--limit)"
                  strokeDasharray="8 4"
                  strokeWidth={2}
                  label={{
                    value: t('chart.limit', { name: l.label, value: num(l.value, 0) }),
                    position: 'insideTopLeft',
                    fill: 'var(--limit)',
                    fontSize,
                  }}
                />
              ))}
              {names.map((n, i) => (
                <Line
                  key={n}
                  dataKey={n}
                  name={n}
                  stroke={seriesColor(i)}
                  strokeDasharray={seriesDash(i)}
                  dot={false}
                  isAnimationActive={false}
                  connectNulls
                  strokeWidth={large ? 3 : 1.75}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
          <p className="sr-only">{t('chart.tableSummary', { n: names.length, latest })}</p>
        </div>
      )}
    </figure>
  );
}

type TrendChartProps = Parameters<typeof TrendChartInner>[0];

/**
 * Live views re-render many times a second as readings arrive; a chart whose inputs did not change
 * (queries and limits are rebuilt as literals each render, so compare them by value) is not redrawn.
 */
export const TrendChart = memo(TrendChartInner, (a: TrendChartProps, b: TrendChartProps) => {
  const { label: la, ...ra } = a;
  const { label: lb, ...rb } = b;
  return la === lb && JSON.stringify(ra) === JSON.stringify(rb);
});
