/** Chart ranges and the aggregation window that keeps each under ~500 points per series. */
export const RANGES = {
  '1h': { spanMs: 3_600_000, windowMs: 60_000 },
  '24h': { spanMs: 86_400_000, windowMs: 300_000 },
  '7d': { spanMs: 7 * 86_400_000, windowMs: 3_600_000 },
  '30d': { spanMs: 30 * 86_400_000, windowMs: 6 * 3_600_000 },
} as const;
export type RangeKey = keyof typeof RANGES;
export const RANGE_KEYS = Object.keys(RANGES) as RangeKey[];

export function rangeQuery(range: RangeKey, now = Date.now()): { from: number; to: number; windowMs: number } {
  const { spanMs, windowMs } = RANGES[range];
  // Align to the window so repeated loads hit the same rollup buckets.
  const to = Math.ceil(now / windowMs) * windowMs;
  return { from: to - spanMs, to, windowMs };
}
