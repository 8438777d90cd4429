export { localTime, type LocalTime } from '@tamky/protocol';

/** Piecewise-linear curve over a day; points are [hour, value], sorted, first at 0 and last at 24. */
export function dailyCurve(points: ReadonlyArray<readonly [number, number]>, hour: number): number {
  const h = ((hour % 24) + 24) % 24;
  for (let i = 1; i < points.length; i++) {
    const [h0, v0] = points[i - 1]!;
    const [h1, v1] = points[i]!;
    if (h <= h1) return v0 + ((v1 - v0) * (h - h0)) / (h1 - h0 || 1);
  }
  return points[points.length - 1]![1];
}
