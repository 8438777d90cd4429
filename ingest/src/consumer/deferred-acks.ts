import type { MqttClient } from 'mqtt';
import { interceptOutgoing } from './mqtt-adapter';

/**
 * Ack-after-durable on top of mqtt.js 5.x.
 *
 * mqtt.js's `customHandleAcks` is honoured only with protocolVersion 5 (client.js replaces it with an
 * immediate ack otherwise), and aedes speaks MQTT 3.1.1; so the hook used is `handleMessage(packet, cb)`,
 * which mqtt.js calls for every received PUBLISH before it sends the PUBACK from `cb`. Its pipeline is
 * serial: the next packet is not handled until `cb` has been called. Holding `cb` until the batch is durable
 * would allow one unacked message at a time (no batching), so the two jobs are split:
 *  - `admit` (called from handleMessage) is the admission gate: `cb` is called at once while ingest holds
 *    less than its bound, later otherwise. While it waits mqtt.js stops handling packets, the socket backs
 *    up, and the broker keeps the rest (its inflight window and session queue): bounded memory.
 *  - The PUBACK mqtt.js then sends for an admitted message is intercepted through mqtt-adapter.ts (private API of
 *    mqtt.js, version pinned and checked at start) and held; the message's `Ack` sends it once its readings are durable.
 * Held PUBACKs belong to one connection: after a reconnect the broker redelivers those messages (same
 * packet id, dup flag), so stale ones are dropped, never sent on the new connection.
 */
export interface DeferredAcks {
  /**
   * Registers a QoS 1 message whose PUBACK waits for `Ack`, once there is room; then calls `admitted` with
   * that Ack (mqtt.js's handleMessage callback is to be called right after).
   */
  admit(packet: { qos: number; messageId?: number }, bytes: number, admitted: (ack: Ack) => void): void;
  held(): { messages: number; bytes: number };
  /** When the oldest message still held was admitted (Date.now()), or undefined when none is held. */
  oldestHeldAt(): number | undefined;
  /** Stop: from now on nothing more is acked; reading continues so the connection can end cleanly. */
  close(): void;
  /**
   * Leaving the broker on purpose (the store refuses writes): the bound is lifted until this connection
   * closes, so mqtt.js reads to the end of the socket and sees the close; what it reads then is never acked.
   */
  leaving(): void;
}

export type Ack = () => void;

interface Held {
  generation: number;
  at: number;
  bytes: number;
  released: boolean;
  send?: () => void;
}

export function installDeferredAcks(client: MqttClient, limits: { maxMessages: number; maxBytes: number }): DeferredAcks {
  // Per packet id, the messages held under it: normally one. A broker must not reuse an id before its
  // PUBACK, but if one does (aedes did, after a reconnect), a PUBACK for that id is ambiguous, so it is
  // sent only once every message held under the id is durable.
  const held = new Map<number, Held[]>();
  let heldMessages = 0;
  let heldBytes = 0;
  let generation = 0;
  const waiting: Array<() => void> = [];

  let closing = false;
  let leavingConnection = false;
  // While closing, the bound is lifted so mqtt.js drains the socket and sees the broker close it; what it
  // reads is held (PUBACK intercepted) and never acked: the broker redelivers it to the next run.
  const room = () => closing || leavingConnection || (heldMessages < limits.maxMessages && heldBytes < limits.maxBytes);
  const drain = () => {
    while (waiting.length > 0 && room()) waiting.shift()!();
  };
  /** Sends the PUBACKs of an id once all its messages are durable. */
  const settle = (id: number) => {
    const group = held.get(id);
    if (!group || group.some((e) => !e.released)) return;
    held.delete(id);
    for (const e of group) if (e.send && e.generation === generation && client.connected) e.send();
  };

  interceptOutgoing(client, (packet, cb, send) => {
    if (packet.cmd === 'puback' && !client.connected) {
      // mqtt.js would queue it for the next connection, where the broker redelivers that packet id with a
      // possibly not-yet-durable message: acking it there could lose data. The redelivery gets its own ack.
      cb?.();
      return;
    }
    const group = packet.cmd === 'puback' && packet.messageId !== undefined ? held.get(packet.messageId) : undefined;
    const entry = group?.find((e) => !e.send);
    if (group && entry) {
      entry.send = () => send();
      cb?.();
      settle(packet.messageId!);
      return;
    }
    send(cb);
  });

  client.on('close', () => {
    leavingConnection = false;
    generation++;
    held.clear();
    heldMessages = 0;
    heldBytes = 0;
    drain();
  });

  return {
    admit(packet, bytes, admitted) {
      if (packet.qos !== 1 || packet.messageId === undefined) return admitted(() => {});
      const entry: Held = { generation, at: 0, bytes, released: false };
      const messageId = packet.messageId;
      const go = () => {
        // Connection gone while waiting: the broker redelivers; whatever mqtt.js does with the PUBACK, it is dropped.
        if (entry.generation !== generation) return admitted(() => {});
        entry.at = Date.now();
        const group = held.get(messageId);
        if (group) group.push(entry);
        else held.set(messageId, [entry]);
        heldMessages++;
        heldBytes += bytes;
        admitted(ack);
      };
      let done = false;
      const ack = () => {
        if (done) return;
        done = true;
        entry.released = true;
        if (entry.generation === generation) {
          heldMessages--;
          heldBytes -= entry.bytes;
          settle(messageId);
        }
        drain();
      };
      if (room() && waiting.length === 0) go();
      else waiting.push(go);
    },
    held: () => ({ messages: heldMessages, bytes: heldBytes }),
    oldestHeldAt() {
      let oldest: number | undefined;
      for (const group of held.values()) for (const e of group) if (!e.released && (oldest === undefined || e.at < oldest)) oldest = e.at;
      return oldest;
    },
    close() {
      closing = true;
      drain();
    },
    leaving() {
      leavingConnection = true;
      drain();
    },
  };
}
