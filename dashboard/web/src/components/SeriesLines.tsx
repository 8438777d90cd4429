import { memo, useMemo } from 'react';
import { useXAxisScale, useYAxisScale } from 'recharts';
import type { ChartColumns } from '../lib/chart-rows';
import { seriesColor, seriesDash } from '../lib/palette';

type Scale = NonNullable<ReturnType<typeof useXAxisScale>>;

type Affine = { a: number; b: number };

/** `scale` as px = a + b·v when it is affine over [lo, hi] (linear and time axes are), else undefined. */
export function affineOf(scale: (v: number) => number | undefined, lo: number, hi: number): Affine | undefined {
  const p = scale(lo);
  const q = scale(hi);
  if (p === undefined || q === undefined || !(hi > lo)) return undefined;
  const b = (q - p) / (hi - lo);
  const a = p - b * lo;
  // Checked inside the range: a log or band scale is left to recharts point by point.
  for (const v of [lo + (hi - lo) / 3, lo + ((hi - lo) * 3) / 4]) {
    const at = scale(v);
    if (at === undefined || Math.abs(at - (a + b * v)) > 0.01) return undefined;
  }
  return { a, b };
}

/**
 * One SVG path through a series' values (gaps joined, as before with connectNulls). Affine axes are applied as
 * arithmetic: the scale functions recharts hands out wrap d3's in option handling, and a city-wide chart calls
 * them for every point of every series.
 */
function pathOf(ts: Float64Array, values: Float64Array, x: Scale, xs: Affine | undefined, y: Scale): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const ys = affineOf((v) => y(v), lo, hi);
  let d = '';
  for (let r = 0; r < ts.length; r++) {
    const v = values[r]!;
    if (Number.isNaN(v)) continue;
    const px = xs ? xs.a + xs.b * ts[r]! : x(ts[r]);
    const py = ys ? ys.a + ys.b * v : y(v);
    if (px === undefined || py === undefined) continue;
    d += `${d ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`;
  }
  return d;
}

/**
 * The chart's lines, drawn inside recharts' plot with its own axis scales (public hooks): one path per
 * series. recharts' <Line> costs grow with every series it registers and every point it wraps in objects,
 * and a city-wide chart has dozens of series; axes, grid, tooltip and limit lines stay recharts'.
 */
export const SeriesLines = memo(function SeriesLines({ data, strokeWidth }: { data: ChartColumns; strokeWidth: number }) {
  const x = useXAxisScale();
  const y = useYAxisScale();
  const paths = useMemo(() => {
    if (!x || !y) return [];
    // One time axis for every series: fitted once.
    const xs = data.ts.length > 1 ? affineOf((v) => x(v), data.ts[0]!, data.ts[data.ts.length - 1]!) : undefined;
    return data.values.map((column) => pathOf(data.ts, column, x, xs, y));
  }, [data, x, y]);
  const names = data.names;
  return (
    <g className="chart-lines">
      {paths.map((d, i) => (
        <path
          key={names[i]}
          className="chart-line"
          data-series={names[i]}
          d={d}
          fill="none"
          stroke={seriesColor(i)}
          strokeDasharray={seriesDash(i) || undefined}
          strokeWidth={strokeWidth}
          strokeLinejoin="round"
        />
      ))}
    </g>
  );
});

/** The series' names with their colour and dash, under the chart. */
export function SeriesLegend({ names, fontSize }: { names: readonly string[]; fontSize: number | string }) {
  return (
    <ul className="chart-legend" style={{ fontSize }}>
      {names.map((n, i) => (
        <li key={n}>
          <svg viewBox="0 0 16 4" width="1.5em" height="0.5em" aria-hidden="true">
            <line x1={0} y1={2} x2={16} y2={2} stroke={seriesColor(i)} strokeWidth={2} strokeDasharray={seriesDash(i) || undefined} />
          </svg>
          {n}
        </li>
      ))}
    </ul>
  );
}
