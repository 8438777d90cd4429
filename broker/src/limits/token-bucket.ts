/** Classic token bucket: `ratePerSecond` refill, `capacity` burst; O(1) and allocation-free. */
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

  /** Takes a token if one is there. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
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
