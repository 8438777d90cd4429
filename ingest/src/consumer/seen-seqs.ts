/**
 * Recently stored (gateway, seq) pairs, to count redeliveries the MQTT dup flag does not show (e.g. the
 * gateway's outbox resending after its own restart).
 *
 * A gateway numbers its readings in order, so "recent" is a window of the `window` sequence numbers below
 * the highest one seen, one bit each: a check is a bit test, with no hashing and no allocation per reading
 * (a Set of recent seqs cost a hash insert and delete per reading and far more memory per gateway than
 * one bit a seq). A seq further below the window than it is wide means the gateway started numbering again (its
 * state was lost): the window restarts there rather than ignore that gateway from then on.
 */
export class SeenSeqs {
  private readonly byGateway = new Map<string, GatewayWindow>();
  private lastGateway: string | undefined;
  private last: GatewayWindow | undefined;

  constructor(private readonly window = 1 << 16) {}

  /** Records `seq`; true if it was already there. */
  check(gateway: string, seq: number): boolean {
    let g = gateway === this.lastGateway ? this.last : this.byGateway.get(gateway);
    if (!g) this.byGateway.set(gateway, (g = new GatewayWindow(this.window)));
    this.lastGateway = gateway;
    this.last = g;
    return g.check(seq);
  }
}

class GatewayWindow {
  private readonly bits: Uint32Array;
  private readonly size: number;
  private high = -1;

  constructor(window: number) {
    // A power of two (≥ 32), so a seq's slot is a mask.
    this.size = Math.max(32, 2 ** Math.ceil(Math.log2(window)));
    this.bits = new Uint32Array(this.size / 32);
  }

  check(seq: number): boolean {
    const { size } = this;
    if (seq > this.high) {
      // Slots between the old high and seq now stand for newer seqs than the ones they held: cleared.
      if (this.high < 0 || seq - this.high >= size) this.bits.fill(0);
      else for (let s = this.high + 1; s < seq; s++) this.flip(s, false);
      this.high = seq;
      this.flip(seq, true);
      return false;
    }
    if (seq <= this.high - size) {
      // Below the window. Far below: numbering restarted, so the window follows it; just below: too old to tell.
      if (seq < this.high - 2 * size) {
        this.bits.fill(0);
        this.high = seq;
        this.flip(seq, true);
      }
      return false;
    }
    return this.flip(seq, true);
  }

  /** Sets or clears seq's bit; true if it was set before. */
  private flip(seq: number, on: boolean): boolean {
    const slot = seq & (this.size - 1);
    const word = slot >>> 5;
    const bit = 1 << (slot & 31);
    const before = this.bits[word]!;
    this.bits[word] = on ? before | bit : before & ~bit;
    return (before & bit) !== 0;
  }
}
