import { reduceByDevice } from '@tamky/protocol/series';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type CSSProperties, type RefObject } from 'react';
import { CartesianGrid, LineChart, ReferenceLine, XAxis, YAxis } from 'recharts';
import type { Query } from '../api/client';
import type { Series } from '../api/types';
import { useApi } from '../api/useApi';
import { TIME_ZONE, useI18n } from '../i18n/i18n';
import { chartColumns, lastValue, rowValues, valueDomain } from '../lib/chart-rows';
import { seriesColor } from '../lib/palette';
import { timeTicks } from '../lib/time-ticks';
import { ChartPointer, type PointedRow } from './ChartPointer';
import { SeriesLegend, SeriesLines } from './SeriesLines';
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
  const { t, num, time, shortDate, duration } = useI18n();
  const [box, widthPx, plotWidth] = useWidthPx();
  const dismissed = useEscapeDismiss();
  const apiQuery: Query = { ...query, fields: query.fields.join(','), devices: query.devices?.join(','), width: widthPx };
  // Asked once the chart's width is known: the server fits its windows to it.
  // windowMs: the window the server answered in (absent: raw points), so clock marks name windows, not readings.
  const { data, error, loading } = useApi<{ series: Series[]; windowMs?: number }>(widthPx === undefined ? null : '/api/history', apiQuery);
  const series = useMemo(() => (reduce ? reduceByDevice(data?.series ?? [], reduce) : (data?.series ?? [])), [data, reduce]);
  const marked = useMemo(() => clockMarks(data?.series ?? [], data?.windowMs !== undefined), [data]);
  const perField = query.fields.length > 1 && !reduce;
  const name = useCallback((s: Series) => (perField ? `${label(s)} · ${s.field}` : label(s)), [label, perField]);
  const chart = useMemo(() => chartColumns(series, name, widthPx ?? 1), [series, name, widthPx]);
  const names = chart.names;
  // recharts is given the range's two ends only (it draws the time axis from data): the lines read the columns,
  // and ChartPointer finds the row under the pointer.
  const ends = useMemo(() => [{ ts: query.from }, { ts: query.to }], [query.from, query.to]);
  const [pointed, setPointed] = useState<PointedRow | null>(null);
  const yDomain = useMemo(() => valueDomain(chart), [chart]);
  const xTicks = useMemo(
    () => timeTicks(query.from, query.to, widthPx ?? 1, TIME_ZONE, large ? 160 : 80),
    [query.from, query.to, widthPx, large],
  );
  const fmtTick = (ts: number) => (spanMs > 86_400_000 ? shortDate(ts) : time(ts));
  const latest = names
    .slice(0, 6)
    .map((n, c) => `${n} ${num(lastValue(chart, c), 1)}`)
    .join('; ');
  const fontSize = large ? 'clamp(12px, 1vw, 28px)' : 12;
  // Until the first answer the frame (time axis, grid) is drawn without values: recharts sets itself up while the
  // answer is on its way, and the lines follow it at once, in a chart that does not move.
  const waiting = !data && loading;
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
      ) : widthPx === undefined || (chart.ts.length === 0 && !waiting) ? (
        <p className="muted chart-empty">{waiting || widthPx === undefined ? t('app.loading') : t('app.noData')}</p>
      ) : (
        <div style={{ width: '100%', height, position: 'relative' }} data-testid="chart">
          {/* Sized from the width measured above: recharts' ResponsiveContainer would measure again and draw a frame later. */}
          <LineChart
            width={plotWidth}
            height={height}
            data={ends}
            margin={{ top: 8, right: 16, bottom: 4, left: 0 }}
            accessibilityLayer={false}
          >
            <CartesianGrid strokeDasharray="3 3" stroke="var(--grid)" verticalValues={xTicks} />
            <XAxis
              dataKey="ts"
              type="number"
              scale="time"
              domain={[query.from, query.to]}
              ticks={xTicks}
              interval={0}
              tickFormatter={fmtTick}
              stroke="var(--muted)"
              tick={{ fontSize }}
            />
            <YAxis
              type="number"
              domain={yDomain}
              allowDataOverflow
              // Its few ticks never collide: recharts would otherwise measure every label in the DOM to thin them.
              interval={0}
              stroke="var(--muted)"
              tick={waiting ? false : { fontSize }}
              width={large ? 80 : 56}
              tickFormatter={(v: number) => num(v, 1)}
            />
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
            <SeriesLines data={chart} strokeWidth={large ? 3 : 1.75} />
            <ChartPointer times={chart.ts} pointed={pointed} onPoint={setPointed} />
          </LineChart>
          {pointed && pointed.row < chart.ts.length && !dismissed.is(chart.ts[pointed.row]) && (
            <RowTooltip
              ts={chart.ts[pointed.row]!}
              values={rowValues(chart, pointed.row)}
              names={names}
              label={(ts) => `${shortDate(ts)} ${time(ts)}`}
              value={(v) => num(v, 2)}
              // Beside the pointer, on the side with room.
              style={{
                position: 'absolute',
                top: pointed.y,
                left: pointed.x,
                transform: `translate(${pointed.x > plotWidth / 2 ? 'calc(-100% - 12px)' : '12px'}, -50%)`,
                pointerEvents: 'none',
              }}
            />
          )}
          {waiting ? (
            <p className="muted chart-waiting">{t('app.loading')}</p>
          ) : (
            <p className="sr-only">{t('chart.tableSummary', { n: names.length, latest })}</p>
          )}
        </div>
      )}
      {!error && chart.ts.length > 0 && <SeriesLegend names={names} fontSize={fontSize} />}
      {!error && marked.n > 0 && (
        // Readings whose time the gateway itself doubted: an operator must not read a spike's time as certain.
        <p className="small muted chart-clock" data-testid="chart-clock">
          <span aria-hidden="true">⏱ </span>
          {data?.windowMs === undefined
            ? t('chart.clockMarked', { n: num(marked.n, 0), unsynced: num(marked.unsynced, 0), corrected: num(marked.corrected, 0) })
            : t('chart.clockMarkedWindows', {
                n: num(marked.n, 0),
                window: duration(data.windowMs),
                unsynced: num(marked.unsynced, 0),
                corrected: num(marked.corrected, 0),
              })}
        </p>
      )}
    </figure>
  );
}

/**
 * Raw points: readings with a clock mark (a device's reading counted once, whatever its fields). Windows: the
 * windows on the time axis holding such readings, of any device ('unsynced' when any of them says so).
 */
function clockMarks(series: readonly Series[], windowed: boolean): { n: number; unsynced: number; corrected: number } {
  const seen = new Map<string, string>();
  for (const s of series)
    for (const [ts, mark] of s.clock ?? []) {
      const key = windowed ? String(ts) : `${s.device}|${ts}`;
      if (seen.get(key) !== 'unsynced') seen.set(key, mark);
    }
  let unsynced = 0;
  for (const mark of seen.values()) if (mark === 'unsynced') unsynced++;
  return { n: seen.size, unsynced, corrected: seen.size - unsynced };
}

/** The values of the row under the pointer, one line per series that has one. */
function RowTooltip({
  ts,
  values,
  names,
  label,
  value,
  style,
}: {
  ts: number;
  values: Map<string, number>;
  names: readonly string[];
  label(ts: number): string;
  value(v: number): string;
  style: CSSProperties;
}) {
  return (
    <div className="chart-tooltip" style={style}>
      <p>{label(ts)}</p>
      <ul>
        {names.map((n, i) => {
          const v = values.get(n);
          return v === undefined ? null : (
            <li key={n} style={{ color: seriesColor(i) }}>
              {n}: {value(v)}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** Escape hides the tooltip until the pointer moves to another row (WCAG 1.4.13: content on hover is dismissible). */
function useEscapeDismiss(): { is(label: unknown): boolean } {
  const last = useRef<unknown>(undefined);
  const [dismissedAt, setDismissedAt] = useState<unknown>(undefined);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setDismissedAt(last.current);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return {
    is(label) {
      last.current = label;
      return label !== undefined && label === dismissedAt;
    },
  };
}

/** Width steps, so resizing a window by a few pixels does not ask the server again. */
const WIDTH_STEP_PX = 40;

/**
 * The element's width in pixels rounded down to WIDTH_STEP_PX (never more than it has: what the server is asked to
 * fit), and its content width (what the chart is drawn in); undefined until laid out.
 */
function useWidthPx(): [RefObject<HTMLElement | null>, number | undefined, number] {
  const ref = useRef<HTMLElement | null>(null);
  const [width, setWidth] = useState<{ step: number; content: number } | undefined>(undefined);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      const style = getComputedStyle(el);
      const content = Math.max(1, el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
      const step = Math.max(1, Math.floor(el.clientWidth / WIDTH_STEP_PX) * WIDTH_STEP_PX);
      setWidth((w) => (w?.step === step && w.content === content ? w : { step, content }));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width?.step, width?.content ?? 1];
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
