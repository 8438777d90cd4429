import type { Series } from './store';
import type { ClockMark } from './telemetry';

export const SERIES_REDUCTIONS = ['sum', 'mean'] as const;
export type SeriesReduction = (typeof SERIES_REDUCTIONS)[number];

/**
 * Folds every field of a device into one series (e.g. all lane × class counts into total flow), as a chart
 * shows it and its CSV export repeats it. The folded series' field is the reduction's name. Zod-free, so
 * the web app imports it.
 */
export function reduceByDevice(series: Series[], how: SeriesReduction): Series[] {
  const byDevice = new Map<string, { s: Series; acc: Map<number, [number, number]>; clock: Map<number, ClockMark> }>();
  for (const s of series) {
    let entry = byDevice.get(s.device);
    if (!entry) {
      const { clock: _clock, ...rest } = s;
      byDevice.set(s.device, (entry = { s: { ...rest, field: how, points: [] }, acc: new Map(), clock: new Map() }));
    }
    for (const [ts, v] of s.points) {
      const [sum, n] = entry.acc.get(ts) ?? [0, 0];
      entry.acc.set(ts, [sum + v, n + 1]);
    }
    // The folded point's mark: any of its fields' ('unsynced' over 'corrected', as within a window).
    for (const [ts, mark] of s.clock ?? []) if (entry.clock.get(ts) !== 'unsynced') entry.clock.set(ts, mark);
  }
  return [...byDevice.values()].map(({ s, acc, clock }) => ({
    ...s,
    points: [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([ts, [sum, n]]) => [ts, how === 'sum' ? sum : sum / n] as [number, number]),
    ...(clock.size > 0 ? { clock: [...clock.entries()].sort((a, b) => a[0] - b[0]) } : {}),
  }));
}
