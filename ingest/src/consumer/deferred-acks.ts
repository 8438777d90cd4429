import type { MqttClient } from 'mqtt';

/**
 * Ack-after-durable on top of mqtt.js.
 *
 * mqtt.js offers `customHandleAcks(topic, message, packet, done)`, but its incoming packet pipeline is
 * serial: the next packet is not handled until `done` is called AND the PUBACK has been handed to the
 * socket. Holding `done` until the batch is durable would therefore allow one unacked message at a time
 * (no batching). So the two jobs are split:
 *  - `customHandleAcks` is the admission gate: `done` is called at once while ingest holds less than its
 *    bound, and delayed otherwise. While it is delayed mqtt.js stops reading the socket, TCP fills, and the
 *    broker keeps the rest (its inflight window and session queue): back-pressure without unbounded buffers.
 *  - The PUBACK mqtt.js then sends for a deferred message is intercepted in `_sendPacket` (private API,
 *    mqtt.js 5.x) and held; `release(messageId)` sends it once the message's readings are durable.
 * Held PUBACKs belong to one connection: after a reconnect the broker redelivers those messages (same
 * packet id, dup flag), so stale ones are dropped, never sent on the new connection.
 */
export interface DeferredAcks {
  /** For customHandleAcks: decides whether the message is deferred and waits for room. */
  admit(packet: { qos: number; messageId?: number }, bytes: number, defer: boolean, done: () => void): void;
  /** A handle that sends the held PUBACK (once) when called. */
  take(messageId: number | undefined): Ack;
  held(): { messages: number; bytes: number };
  close(): void;
}

export type Ack = () => void;

interface Held {
  generation: number;
  bytes: number;
  released: boolean;
  send?: () => void;
}

export function installDeferredAcks(client: MqttClient, limits: { maxMessages: number; maxBytes: number }): DeferredAcks {
  const held = new Map<number, Held>();
  let heldBytes = 0;
  let generation = 0;
  const waiting: Array<() => void> = [];

  const room = () => held.size < limits.maxMessages && heldBytes < limits.maxBytes;
  const drain = () => {
    while (waiting.length > 0 && room()) waiting.shift()!();
  };
  const forget = (id: number, entry: Held) => {
    if (held.get(id) === entry) {
      held.delete(id);
      heldBytes -= entry.bytes;
    }
  };

  const client_ = client as unknown as { _sendPacket: (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void };
  const originalSend = client_._sendPacket.bind(client);
  client_._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === 'puback' && !client.connected) {
      // mqtt.js would queue it for the next connection, where the broker redelivers that packet id with a
      // possibly not-yet-durable message: acking it there could lose data. The redelivery gets its own ack.
      cb?.();
      return;
    }
    const entry = packet.cmd === 'puback' && packet.messageId !== undefined ? held.get(packet.messageId) : undefined;
    if (entry && !entry.released && !entry.send) {
      entry.send = () => originalSend(packet, undefined, ...rest);
      cb?.();
      return;
    }
    originalSend(packet, cb, ...rest);
  };

  client.on('close', () => {
    generation++;
    held.clear();
    heldBytes = 0;
    drain();
  });

  return {
    admit(packet, bytes, defer, done) {
      if (!defer || packet.qos !== 1 || packet.messageId === undefined) return done();
      const entry: Held = { generation, bytes, released: false };
      const id = packet.messageId;
      const go = () => {
        if (entry.generation !== generation) return done(); // connection gone while waiting: mqtt.js discards the packet
        held.set(id, entry);
        heldBytes += bytes;
        done();
      };
      if (room() && waiting.length === 0) go();
      else waiting.push(go);
    },
    take(messageId) {
      const entry = messageId === undefined ? undefined : held.get(messageId);
      if (!entry || messageId === undefined) return () => {};
      let done = false;
      return () => {
        if (done) return;
        done = true;
        entry.released = true;
        forget(messageId, entry);
        if (entry.send && entry.generation === generation && client.connected) entry.send();
        drain();
      };
    },
    held: () => ({ messages: held.size, bytes: heldBytes }),
    close() {
      for (const w of waiting.splice(0)) w();
    },
  };
}
