import { reduceByDevice } from '@tamky/protocol/series';
import { memo, useCallback, useLayoutEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Query } from '../api/client';
import type { Series } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { chartRows } from '../lib/chart-rows';
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
  const [box, widthPx] = useWidthPx();
  const apiQuery: Query = { ...query, fields: query.fields.join(','), devices: query.devices?.join(','), width: widthPx };
  // Asked once the chart's width is known: the server fits its windows to it.
  const { data, error, loading } = useApi<{ series: Series[] }>(widthPx === undefined ? null : '/api/history', apiQuery);
  const series = useMemo(() => (reduce ? reduceByDevice(data?.series ?? [], reduce) : (data?.series ?? [])), [data, reduce]);
  const perField = query.fields.length > 1 && !reduce;
  const name = useCallback((s: Series) => (perField ? `${label(s)} · ${s.field}` : label(s)), [label, perField]);
  const names = useMemo(() => [...new Set(series.map(name))], [series, name]);
  const rows = useMemo(() => chartRows(series, name, widthPx ?? 1), [series, name, widthPx]);
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
    <figure className="chart" aria-busy={loading} ref={box}>
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

/** Width steps, so resizing a window by a few pixels does not ask the server again. */
const WIDTH_STEP_PX = 40;

/** The element's width in pixels, rounded down to WIDTH_STEP_PX (never more than it has); undefined until laid out. */
function useWidthPx(): [RefObject<HTMLElement | null>, number | undefined] {
  const ref = useRef<HTMLElement | null>(null);
  const [width, setWidth] = useState<number | undefined>(undefined);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(1, Math.floor(el.clientWidth / WIDTH_STEP_PX) * WIDTH_STEP_PX));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
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
