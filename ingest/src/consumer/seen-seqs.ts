/**
 * Recently stored (gateway, seq) pairs, to count redeliveries the MQTT dup flag does not show (e.g. the
 * gateway's outbox resending after its own restart). Bounded per gateway: oldest entries fall out first.
 */
export class SeenSeqs {
  private readonly byGateway = new Map<string, { set: Set<number>; ring: number[]; next: number }>();

  constructor(private readonly perGateway = 50_000) {}

  /** Records `seq`; true if it was already there. */
  check(gateway: string, seq: number): boolean {
    let g = this.byGateway.get(gateway);
    if (!g) this.byGateway.set(gateway, (g = { set: new Set(), ring: [], next: 0 }));
    if (g.set.has(seq)) return true;
    if (g.ring.length < this.perGateway) g.ring.push(seq);
    else {
      g.set.delete(g.ring[g.next]!);
      g.ring[g.next] = seq;
      g.next = (g.next + 1) % this.perGateway;
    }
    g.set.add(seq);
    return false;
  }
}
