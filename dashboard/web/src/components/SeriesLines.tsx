import { memo, useMemo } from 'react';
import { useXAxisScale, useYAxisScale } from 'recharts';
import type { ChartColumns } from '../lib/chart-rows';
import { seriesColor, seriesDash } from '../lib/palette';

type Scale = NonNullable<ReturnType<typeof useXAxisScale>>;

/** One SVG path through a series' values (gaps joined, as before with connectNulls). */
function pathOf(ts: Float64Array, values: Float64Array, x: Scale, y: Scale): string {
  let d = '';
  for (let r = 0; r < ts.length; r++) {
    const v = values[r]!;
    if (Number.isNaN(v)) continue;
    const px = x(ts[r]);
    const py = y(v);
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
  const paths = useMemo(() => (x && y ? data.values.map((column) => pathOf(data.ts, column, x, y)) : []), [data, x, y]);
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
