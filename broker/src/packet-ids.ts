import { Readable } from 'node:stream';
import type { Client } from 'aedes';
import { takeNextPacketId, type OutgoingPersistence } from './aedes-adapter';

interface OutgoingPacket {
  cmd?: string;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
}

interface IdPersistence {
  outgoingUpdate(client: Client, packet: OutgoingPacket): Promise<unknown>;
  outgoingClearMessageId(client: Client, packet: OutgoingPacket): Promise<unknown>;
}

const MAX_ID = 65_535;
const deliveryKey = (p: OutgoingPacket) => `${p.brokerId}:${p.brokerCounter}`;

/**
 * Keeps the packet ids of a connection's unacknowledged deliveries unique.
 *
 * On reconnect aedes resends a persistent session's queue with the ids the packets had on the previous
 * connection (stored with them, as MQTT asks), while new deliveries take ids from a counter that starts
 * at a random value. When the two meet, two unacknowledged PUBLISHes share an id, the persistence maps
 * that id to the later one only, and the subscriber's PUBACK for the first clears the second from the
 * session although it was never acknowledged: if the subscriber then restarts before storing it, the
 * reading is gone (our city fault run lost 19 this way: broker kill -9, then ingest kill -9).
 *
 * Every delivery passes `outgoingUpdate` before it is written, so that is where an id already in use on
 * this connection is replaced by a free one; a PUBACK (via `outgoingClearMessageId`) frees it again.
 * For QoS 1, which is all this system uses, a resent message under a new id is just a redelivery.
 */
export function keepPacketIdsUnique(persistence: OutgoingPersistence): void {
  const p = persistence as unknown as IdPersistence;
  // Per connection (aedes makes a new Client for each): id → the delivery using it.
  const inUse = new WeakMap<Client, Map<number, string>>();
  const idsOf = (client: Client) => {
    let ids = inUse.get(client);
    if (!ids) inUse.set(client, (ids = new Map()));
    return ids;
  };

  const freeId = (client: Client, ids: Map<number, string>): number => {
    for (let tries = 0; tries < MAX_ID; tries++) {
      const id = takeNextPacketId(client);
      if (!ids.has(id)) return id;
    }
    // 65,535 deliveries in flight on one connection: aedes' own limits make this unreachable.
    throw new Error(`no free packet id for client ${client.id}`);
  };

  const update = p.outgoingUpdate.bind(p);
  p.outgoingUpdate = async (client, packet) => {
    if (packet.cmd === 'publish' && packet.messageId !== undefined) {
      const ids = idsOf(client);
      const key = deliveryKey(packet);
      const holder = ids.get(packet.messageId);
      if (holder !== undefined && holder !== key) packet.messageId = freeId(client, ids);
      ids.set(packet.messageId, key);
    }
    return update(client, packet);
  };

  const clear = p.outgoingClearMessageId.bind(p);
  p.outgoingClearMessageId = async (client, packet) => {
    const ids = inUse.get(client);
    if (ids && packet.messageId !== undefined) {
      // A PUBACK frees its id; a publish cleared without being sent frees it only if it holds it.
      if (packet.cmd !== 'publish' || ids.get(packet.messageId) === deliveryKey(packet)) ids.delete(packet.messageId);
    }
    return clear(client, packet);
  };
}

/**
 * A queued message that already has a packet id was sent on an earlier connection and not acknowledged: aedes
 * re-sends it on reconnect as it was stored, so it is marked DUP here ([MQTT-3.3.1-1], [MQTT-4.4.0-1]). One
 * queued while the client was away has no id yet and goes out as a first delivery (DUP 0).
 */
export function markResendsDuplicate(persistence: OutgoingPersistence): void {
  const p = persistence;
  const stream = p.outgoingStream.bind(p);
  p.outgoingStream = (client) => {
    const source = stream(client);
    return Readable.from(
      (async function* () {
        for await (const packet of source as AsyncIterable<OutgoingPacket & { dup?: boolean }>) {
          if (packet.cmd === 'publish' && packet.messageId !== undefined && packet.messageId !== null) packet.dup = true;
          yield packet;
        }
      })(),
    );
  };
}
