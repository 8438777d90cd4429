/**
 * Counts failed logins per key (client address, username) in a sliding window; a key over the limit is
 * refused before the password is even checked. In memory: a restart forgives, which is acceptable for a
 * limit meant to make guessing slow, not impossible to retry.
 */
export function createFailureLimiter(maxFailures: number, windowMs: number, now: () => number) {
  const failures = new Map<string, number[]>();
  const recent = (key: string) => {
    const cutoff = now() - windowMs;
    const list = (failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) failures.set(key, list);
    else failures.delete(key);
    return list;
  };
  return {
    /** Milliseconds until `key` may try again, or 0. */
    blockedFor(key: string): number {
      const list = recent(key);
      if (list.length < maxFailures) return 0;
      return Math.max(1, list[list.length - maxFailures]! + windowMs - now());
    },
    fail(key: string): void {
      const list = recent(key);
      list.push(now());
      failures.set(key, list);
      if (failures.size > 50_000) failures.clear(); // a flood of distinct keys must not grow memory without bound
    },
    reset(key: string): void {
      failures.delete(key);
    },
  };
}
