import type { Client, ConnectPacket, PublishPacket } from 'aedes';
import { mayPublish, type Refusal } from './acl';
import type { Identity } from './identity';

/**
 * Wills are checked against the ACL when they are handed over (CONNECT), not when they fire: by then the
 * client may be gone, and after an unclean stop the will is published by another broker process with no
 * client at all. A will that passes is stamped with the name of the identity that gave it; the stamp is a
 * plain property, so it is stored with the will (memory or Redis persistence) and survives a restart.
 * A will without a stamp (stored by a broker before this check existed, or planted in Redis) cannot be
 * attributed to anyone and is never published.
 */
const OWNER = 'willOwner';

type WillPacket = NonNullable<ConnectPacket['will']> & { [OWNER]?: unknown; clientId?: unknown; brokerId?: unknown };

/** The will each CONNECT carried, captured in aedes' public preConnect hook so authentication can check it. */
const pendingWills = new WeakMap<Client, WillPacket>();

export function captureWill(client: Client, packet: ConnectPacket): void {
  if (packet.will) pendingWills.set(client, packet.will as WillPacket);
  else pendingWills.delete(client);
}

export function ownerName(identity: Identity): string | undefined {
  if (identity.kind === 'gateway') return identity.gatewayId;
  if (identity.kind === 'service') return identity.username;
  return undefined; // anonymous clients have no name to answer for a will
}

/**
 * At CONNECT, once the identity is known: the will's refusal (the CONNECT is then refused), or undefined after
 * stamping the will with its owner. aedes stores the very object the CONNECT packet carried, so the stamp goes
 * into persistence with it.
 */
export function checkWillAtConnect(client: Client, identity: Identity): Refusal | undefined {
  const will = pendingWills.get(client);
  if (!will) return undefined;
  pendingWills.delete(client);
  const owner = ownerName(identity);
  if (owner === undefined) return 'not-allowed-topic';
  const refusal = mayPublish(identity, will.topic, will.retain === true);
  if (refusal) return refusal;
  will[OWNER] = owner;
  return undefined;
}

/** The stamped owner of a will about to be published (undefined for an ordinary PUBLISH or an unstamped will). */
export function willOwnerOf(packet: PublishPacket): string | undefined {
  const owner = (packet as unknown as WillPacket)[OWNER];
  return typeof owner === 'string' && owner.length > 0 ? owner : undefined;
}

/**
 * A will, as opposed to a PUBLISH off the wire: persistence marks every will it stores with the clientId and
 * brokerId (so aedes' will sweep, which hands a stored will over with whatever client now holds that clientId,
 * is still recognised as a will). A parsed PUBLISH never carries those fields.
 */
export function isWill(packet: PublishPacket): boolean {
  return storedWillKey(packet) !== undefined;
}

/** Where a will read back from persistence came from (aedes-persistence adds clientId and brokerId on store). */
export function storedWillKey(packet: unknown): { id: string; brokerId: string } | undefined {
  const { clientId, brokerId } = (packet ?? {}) as WillPacket;
  return typeof clientId === 'string' && typeof brokerId === 'string' ? { id: clientId, brokerId } : undefined;
}

interface WillStore {
  streamWill(brokers?: Record<string, number>): AsyncIterable<unknown> | NodeJS.ReadableStream;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
}

/**
 * Removes every stored will that carries no owner stamp, before aedes' will timer can publish it. Returns how
 * many were removed. Run once at start: wills left by an older broker after an unclean stop end here.
 */
export async function dropUnattributedWills(
  persistence: unknown,
  onDrop: (will: { clientId: string; topic: string }) => void,
): Promise<number> {
  const store = persistence as WillStore;
  const orphans: { id: string; brokerId: string; topic: string }[] = [];
  for await (const will of store.streamWill({}) as AsyncIterable<WillPacket>) {
    const key = storedWillKey(will);
    if (key && willOwnerOf(will as unknown as PublishPacket) === undefined) orphans.push({ ...key, topic: String(will.topic) });
  }
  for (const o of orphans) {
    await store.delWill({ id: o.id, brokerId: o.brokerId });
    onDrop({ clientId: o.id, topic: o.topic });
  }
  return orphans.length;
}

/** Deletes a refused stored will so it is not tried again on every will sweep. */
export function discardStoredWill(persistence: unknown, packet: PublishPacket): Promise<void> {
  const key = storedWillKey(packet);
  if (!key) return Promise.resolve();
  return (persistence as WillStore).delWill(key).then(
    () => undefined,
    () => undefined,
  );
}
