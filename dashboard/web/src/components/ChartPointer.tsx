import { memo, type MouseEvent } from 'react';
import { usePlotArea, useXAxisInverseScale, useXAxisScale } from 'recharts';

/** The pointer over a chart's plot: the row nearest it, and where to draw its box (px in the chart). */
export interface PointedRow {
  row: number;
  x: number;
  y: number;
}

/** Index of the time nearest `t` in ascending `times` (−1: none). */
export function nearestRow(times: Float64Array, t: number): number {
  if (times.length === 0 || !Number.isFinite(t)) return -1;
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - times[lo - 1]! <= times[lo]! - t ? lo - 1 : lo;
}

/**
 * Finds the row under the pointer with recharts' own axis scales (public hooks) and draws a cursor line at it.
 * recharts' <Tooltip> needs its data to hold every row, and recharts re-derives its whole state from that data
 * whenever an answer arrives; given only the range's ends it has nothing to redo but the value axis.
 */
export const ChartPointer = memo(function ChartPointer({
  times,
  pointed,
  onPoint,
}: {
  times: Float64Array;
  pointed: PointedRow | null;
  onPoint(p: PointedRow | null): void;
}) {
  const area = usePlotArea();
  const x = useXAxisScale();
  const invert = useXAxisInverseScale();
  if (!area || !x || !invert) return null;
  const move = (e: MouseEvent<SVGRectElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    const px = area.x + (e.clientX - box.left);
    const row = nearestRow(times, Number(invert(px)));
    onPoint(row < 0 ? null : { row, x: x(times[row]) ?? px, y: area.y + (e.clientY - box.top) });
  };
  return (
    <g className="chart-pointer">
      {pointed && <line x1={pointed.x} x2={pointed.x} y1={area.y} y2={area.y + area.height} stroke="var(--muted)" pointerEvents="none" />}
      <rect
        x={area.x}
        y={area.y}
        width={area.width}
        height={area.height}
        fill="transparent"
        onMouseMove={move}
        onMouseLeave={() => onPoint(null)}
      />
    </g>
  );
});
