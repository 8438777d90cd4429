/**
 * Classic token bucket: `ratePerSecond` refill up to `capacity` (the burst); starts full; O(1) and
 * allocation-free. Used for the broker's CONNECT and PUBLISH limits, the gateway's replay rate after an
 * outage and the dashboard's per-channel notification limits.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }

  /** Tokens there now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes `n` tokens if they are there. */
  take(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Spends `n` tokens the caller saw available (after `available()`). */
  spend(n: number): void {
    this.tokens -= n;
  }

  /** Milliseconds until `n` tokens are there (0 when they are). */
  msUntil(n = 1): number {
    this.refill();
    return this.tokens >= n ? 0 : ((n - this.tokens) * 1000) / this.ratePerSecond;
  }

  /**
   * Takes a token now or on credit: returns how many ms the caller should wait before acting (0 = now), or
   * Infinity — taking nothing — when that would run more than `maxDebtSeconds` of tokens into debt.
   */
  reserve(maxDebtSeconds: number): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    if (this.tokens - 1 < -this.ratePerSecond * maxDebtSeconds) return Infinity;
    this.tokens -= 1;
    return (-this.tokens / this.ratePerSecond) * 1000;
  }
}
