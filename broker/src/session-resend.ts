import type { Aedes, Client } from 'aedes';
import {
  isOpen,
  outgoingPacket,
  persistenceOf,
  replaceSessionResend,
  waitForDrain,
  writePacket,
  type OutgoingPacket,
} from './aedes-adapter';

/** Queued messages prepared together: their persistence updates run at once, then they are written in order. */
const RESEND_CHUNK = 256;

interface Resend {
  inFlight: Set<number>;
  wake(): void;
}

/**
 * Resends a persistent session's queue on reconnect with many messages in flight, instead of aedes' one at a
 * time (a persistence round trip and an event-loop turn per message): the queue is read in chunks (Redis: one
 * MGET each, persistence.ts), each chunk's persistence updates are issued together, and its packets are written
 * in queue order, up to `window` unacknowledged at once. MQTT 3.1.1 has no Receive Maximum, so the window is the
 * broker's (as Mosquitto's max_inflight_messages); the socket bounds it further (a full socket is waited for,
 * within the drain timeout). What gets resent and how is unchanged: stored packet ids kept (and DUP set,
 * packet-ids.ts), PUBRELs resent, a message the client may no longer receive cleared instead of sent.
 */
export function pipelineSessionResend(broker: Aedes, window: number): void {
  const persistence = persistenceOf(broker);
  const running = new Map<Client, Resend>();

  broker.on('ack', (packet, client) => {
    const resend = client && running.get(client);
    const id = (packet as { messageId?: number } | undefined)?.messageId;
    if (resend && id !== undefined && resend.inFlight.delete(id)) resend.wake();
  });

  replaceSessionResend(broker, async (client, queue) => {
    let waiting: (() => void) | undefined;
    const resend: Resend = {
      inFlight: new Set(),
      wake: () => {
        waiting?.();
        waiting = undefined;
      },
    };
    const conn = (client as unknown as { conn: NodeJS.EventEmitter }).conn;
    conn.once('close', resend.wake);
    running.set(client, resend);

    const roomInWindow = async (): Promise<number> => {
      while (resend.inFlight.size >= window && isOpen(client)) await new Promise<void>((r) => (waiting = r));
      if (!isOpen(client)) throw new Error('connection closed');
      return window - resend.inFlight.size;
    };

    const send = async (stored: unknown[]): Promise<void> => {
      for (let i = 0; i < stored.length;) {
        const n = Math.min(await roomInWindow(), stored.length - i);
        const packets = stored.slice(i, i + n).map((p) => outgoingPacket(p, client));
        i += n;
        await Promise.all(packets.map((p) => persistence.outgoingUpdate(client, p)));
        const cleared: Promise<unknown>[] = [];
        for (const packet of packets) {
          if (client.clean || !forwardable(broker, client, packet)) {
            cleared.push(persistence.outgoingClearMessageId(client, packet));
            continue;
          }
          resend.inFlight.add(packet.messageId);
          const written = writePacket(client, packet);
          if (written === 'closed') throw new Error('connection closed');
          if (written === 'full') await waitForDrain(client);
        }
        await Promise.all(cleared);
      }
    };

    try {
      let chunk: unknown[] = [];
      for await (const stored of queue) {
        chunk.push(stored);
        if (chunk.length >= RESEND_CHUNK) {
          await send(chunk);
          chunk = [];
        }
      }
      if (chunk.length) await send(chunk);
    } finally {
      running.delete(client);
      conn.off('close', resend.wake);
    }
  });
}

/** aedes' rule for a queued message: a PUBLISH only if authorizeForward still lets it through; a PUBREL always. */
function forwardable(broker: Aedes, client: Client, packet: OutgoingPacket): boolean {
  if (packet.cmd !== 'publish') return true;
  return Boolean(broker.authorizeForward(client, packet as unknown as Parameters<Aedes['authorizeForward']>[1]));
}
