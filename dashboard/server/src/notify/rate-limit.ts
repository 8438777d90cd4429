/** Token bucket per channel: providers throttle (and bill) bursts; a flood of alarms must queue, not fail. */
export function createRateLimiter(perMinute: Partial<Record<string, { perMinute: number }>>, now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    /** Takes one token if available. */
    take(channel: string): boolean {
      const limit = perMinute[channel]?.perMinute;
      if (!limit) return true;
      const t = now();
      const b = buckets.get(channel) ?? { tokens: limit, at: t };
      b.tokens = Math.min(limit, b.tokens + ((t - b.at) / 60_000) * limit);
      b.at = t;
      buckets.set(channel, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    empty(channel: string): boolean {
      const limit = perMinute[channel]?.perMinute;
      if (!limit) return false;
      const b = buckets.get(channel);
      if (!b) return false;
      return b.tokens + ((now() - b.at) / 60_000) * limit < 1;
    },
  };
}
