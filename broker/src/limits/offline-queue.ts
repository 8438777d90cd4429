import type { Logger } from 'pino';

interface Sub {
  clientId: string;
}

interface OutgoingPersistence {
  outgoingEnqueueCombi(subs: Sub[], packet: unknown): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
}

const RECOUNT_EVERY_MS = 5_000;

/**
 * Bounds each persistent session's queue of QoS>0 messages (neither aedes nor its persistences do). Each node
 * keeps a cheap estimate per client (+1 per message queued here, -1 per acknowledgement here); only when the
 * estimate reaches the limit does it count the real queue in the persistence (at most every 5 s per client),
 * so in cluster mode, where another node may have taken the acknowledgements, the bound stays true. A full
 * queue refuses the newest message for that session only (like mosquitto's max_queued_messages).
 */
export function boundOfflineQueues(
  persistence: unknown,
  limit: number,
  onDrop: (clientId: string) => void,
): { depth(): number; perClient(): ReadonlyMap<string, number> } {
  const p = persistence as OutgoingPersistence;
  const estimate = new Map<string, number>();
  const recounted = new Map<string, number>();
  // Enqueues not yet confirmed by the persistence: a recount cannot see them yet.
  const pending = new Map<string, number>();

  const recount = async (clientId: string): Promise<number> => {
    recounted.set(clientId, Date.now()); // arrivals during the count see the old estimate (at the limit): refused
    // Enqueues in flight when the count starts may or may not be in it: counting them too errs towards the bound.
    const inFlight = pending.get(clientId) ?? 0;
    let n = 0;
    for await (const _ of p.outgoingStream({ id: clientId })) if (++n > limit) break;
    n += inFlight;
    // The queue never holds more than the limit, so neither does the estimate (keeps the gauge honest).
    estimate.set(clientId, Math.min(n, limit));
    return n;
  };

  const enqueue = p.outgoingEnqueueCombi.bind(p);
  p.outgoingEnqueueCombi = async (subs, packet) => {
    let kept = subs;
    for (const sub of subs) {
      let n = estimate.get(sub.clientId) ?? 0;
      if (n >= limit && Date.now() - (recounted.get(sub.clientId) ?? 0) > RECOUNT_EVERY_MS) n = await recount(sub.clientId);
      if (n >= limit) {
        if (kept === subs) kept = subs.slice();
        kept.splice(kept.indexOf(sub), 1);
        onDrop(sub.clientId);
      } else {
        estimate.set(sub.clientId, n + 1);
      }
    }
    if (!kept.length) return;
    for (const sub of kept) pending.set(sub.clientId, (pending.get(sub.clientId) ?? 0) + 1);
    try {
      await enqueue(kept, packet);
    } finally {
      for (const sub of kept) {
        const n = (pending.get(sub.clientId) ?? 1) - 1;
        if (n > 0) pending.set(sub.clientId, n);
        else pending.delete(sub.clientId);
      }
    }
  };

  const clear = p.outgoingClearMessageId.bind(p);
  p.outgoingClearMessageId = async (client, packet) => {
    const n = estimate.get(client.id);
    if (n !== undefined) {
      if (n <= 1) estimate.delete(client.id);
      else estimate.set(client.id, n - 1);
    }
    return clear(client, packet);
  };

  return {
    perClient: () => estimate,
    depth() {
      let sum = 0;
      for (const n of estimate.values()) sum += n;
      return sum;
    },
  };
}

/** One warning per client per minute: a full queue drops many messages, the log needs only to say so. */
export function dropLogger(log: Logger): (clientId: string) => void {
  const last = new Map<string, number>();
  return (clientId) => {
    const now = Date.now();
    if (now - (last.get(clientId) ?? 0) < 60_000) return;
    last.set(clientId, now);
    log.warn({ reason: 'offline-queue-full', clientId }, 'persistent session queue is full; dropping newest messages for it');
  };
}
