import { TokenBucket } from '@tamky/service-kit';

/** Token bucket per channel: providers throttle (and bill) bursts; a flood of alarms must queue, not fail. */
export function createRateLimiter(perMinute: Partial<Record<string, { perMinute: number }>>, now: () => number) {
  const buckets = new Map<string, TokenBucket>();
  const bucket = (channel: string): TokenBucket | undefined => {
    const limit = perMinute[channel]?.perMinute;
    if (!limit) return undefined;
    let b = buckets.get(channel);
    if (!b) buckets.set(channel, (b = new TokenBucket(limit / 60, limit, now)));
    return b;
  };
  return {
    /** Takes one token if available. */
    take: (channel: string): boolean => bucket(channel)?.take() ?? true,
    empty: (channel: string): boolean => (bucket(channel)?.available() ?? 1) < 1,
  };
}
