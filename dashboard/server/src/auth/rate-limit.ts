/**
 * Counts failed sign-ins per key (client address, username) in a sliding window. An attempt is counted
 * the moment it starts, before the expensive check (scrypt), and forgiven only when it succeeds: parallel
 * guesses cannot all pass the limit while their checks are still running. In memory: a restart forgives,
 * which is acceptable for a limit meant to make guessing slow, not impossible to retry.
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
  const blockedFor = (key: string): number => {
    const list = recent(key);
    if (list.length < maxFailures) return 0;
    return Math.max(1, list[list.length - maxFailures]! + windowMs - now());
  };
  return {
    /** Milliseconds until `key` may try again, or 0. */
    blockedFor,
    /**
     * Starts an attempt: refused (the wait in ms) when `key` is over the limit, else counted as a failure
     * at once; `forgive()` takes it back when the attempt succeeds.
     */
    begin(key: string): { waitMs: number } | { forgive(): void } {
      const waitMs = blockedFor(key);
      if (waitMs > 0) return { waitMs };
      if (failures.size >= 50_000) failures.clear(); // a flood of distinct keys must not grow memory without bound
      const ts = now();
      const list = recent(key);
      list.push(ts);
      failures.set(key, list);
      return {
        forgive() {
          const current = failures.get(key);
          const i = current?.lastIndexOf(ts) ?? -1;
          if (i >= 0) current!.splice(i, 1);
        },
      };
    },
    reset(key: string): void {
      failures.delete(key);
    },
  };
}
export type FailureLimiter = ReturnType<typeof createFailureLimiter>;

/** The limiters every way of signing in shares: per address always, per username when there is one. */
export interface SignInLimits {
  user: FailureLimiter;
  address: FailureLimiter;
}

export type SignInAttempt = { refused: true; retryAfterMs: number } | { refused: false; succeeded(): void };

/**
 * Opens an attempt under every applicable limit at once (synchronously, so no await can slip between the
 * check and the count). Refused if any key is over its limit; nothing is counted then.
 */
export function beginSignIn(limits: SignInLimits, keys: { address: string; user?: string }): SignInAttempt {
  const pairs: Array<[FailureLimiter, string]> = [
    [limits.address, keys.address],
    ...(keys.user ? [[limits.user, keys.user] as [FailureLimiter, string]] : []),
  ];
  const wait = Math.max(...pairs.map(([l, k]) => l.blockedFor(k)));
  if (wait > 0) return { refused: true, retryAfterMs: wait };
  const started = pairs.map(([l, k]) => l.begin(k) as { forgive(): void });
  return {
    refused: false,
    succeeded() {
      for (const s of started) s.forgive();
      // A correct password clears the user's earlier failures (the address keeps its own count).
      if (keys.user) limits.user.reset(keys.user);
    },
  };
}
