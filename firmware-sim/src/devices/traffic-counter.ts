import { BaseSimDevice } from '../sim-device';
import { laneInterval } from '../signals/traffic';

/**
 * The project's loop counter: latches totals of the last closed interval with a sequence number.
 * Intervals are anchored at power-up (or at the last change of the interval length).
 */
export class TrafficCounter extends BaseSimDevice {
  private anchorT = 0;
  private seqBase = 0;

  private get lanes(): number {
    return this.device.lanes ?? 2;
  }

  define(): void {
    this.bank.define('input', 0, 50);
    this.bank.define('holding', 0, 1, { writable: (v) => v >= 10 && v <= 3600 });
    this.bank.set('holding', 0, 60);
    this.anchorT = this.bootT;
  }

  private intervalS(): number {
    return this.bank.getHolding(0) || 60;
  }

  /** Closed intervals since the anchor, counted from the sequence base. */
  private closed(t: number): number {
    return Math.max(0, Math.floor((t - this.anchorT) / (this.intervalS() * 1000)));
  }

  protected override onBoot(t: number): void {
    this.anchorT = t;
    this.seqBase = 0;
  }

  protected override onWrite(table: 'holding' | 'coil', address: number): void {
    if (table === 'holding' && address === 0) {
      // A new interval length starts a fresh interval now; the sequence number carries on.
      const t = this.now();
      this.seqBase += this.closed(t);
      this.anchorT = t;
    }
  }

  protected sample(t: number): Record<string, number> {
    const closed = this.closed(t);
    const intervalS = this.intervalS();
    const out: Record<string, number> = { _seq: (this.seqBase + closed) % 65536, _uptime: this.uptimeS(t), _interval: intervalS };
    for (let lane = 1; lane <= this.lanes; lane++) {
      const v =
        closed === 0
          ? { motorbike: 0, car: 0, bus: 0, truck: 0, speed: 0, occupancy: 0 }
          : laneInterval(this.ctx, this.key, lane, this.anchorT + (closed - 1) * intervalS * 1000, intervalS);
      for (const [k, x] of Object.entries(v)) out[`lane${lane}_${k}`] = x;
    }
    return out;
  }

  protected encode(v: Record<string, number>): void {
    this.put('input', 0, this.lanes);
    this.put('input', 1, v._interval!);
    this.put('input', 2, v._seq!);
    this.put('input', 3, Math.floor(v._uptime! / 65536));
    this.put('input', 4, v._uptime! % 65536);
    for (let lane = 1; lane <= this.lanes; lane++) {
      const b = 10 * lane;
      this.put('input', b + 0, v[`lane${lane}_motorbike`]!);
      this.put('input', b + 1, v[`lane${lane}_car`]!);
      this.put('input', b + 2, v[`lane${lane}_bus`]!);
      this.put('input', b + 3, v[`lane${lane}_truck`]!);
      this.put('input', b + 4, v[`lane${lane}_speed`]! * 10);
      this.put('input', b + 5, v[`lane${lane}_occupancy`]! * 10);
    }
  }
}
