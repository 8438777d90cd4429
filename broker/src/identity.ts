import type { Client } from 'aedes';
import { gatewayPrefix } from '@tamky/protocol';
import type { ServiceRole } from './config';
import type { Entry } from './credentials';

/** Who an authenticated connection speaks for; decided once at CONNECT, consulted by every ACL check. */
export type Identity =
  /** `prefix` is the gateway's own topic prefix (`city/v1/gw/{id}/`), computed once per connection. */
  | { kind: 'gateway'; gatewayId: string; prefix: string }
  | { kind: 'service'; username: string; role: ServiceRole }
  /** Development profile only, loopback only: a developer's mosquitto_sub, read-only (it publishes nothing). */
  | { kind: 'anonymous' };

export const identityFor = (entry: Entry): Identity =>
  entry.kind === 'gateway'
    ? { kind: 'gateway', gatewayId: entry.id, prefix: gatewayPrefix(entry.id) }
    : { kind: 'service', username: entry.username, role: entry.role };

const identities = new WeakMap<Client, Identity>();

export function setIdentity(client: Client, identity: Identity): void {
  identities.set(client, identity);
}

export function identityOf(client: Client | null | undefined): Identity | undefined {
  return client ? identities.get(client) : undefined;
}

export function describeIdentity(identity: Identity | undefined): string {
  if (!identity) return 'unauthenticated';
  if (identity.kind === 'gateway') return `gateway:${identity.gatewayId}`;
  if (identity.kind === 'service') return `service:${identity.username}(${identity.role})`;
  return 'anonymous';
}

/**
 * Session takeover is by clientId, so a clientId must belong to the identity that uses it: a gateway uses its
 * id (or `{id}:{suffix}` for a second tool on the same credentials); a service uses its username, or
 * `{username}-{suffix}` / `{username}:{suffix}` for several instances. Gateway ids and service usernames are
 * one namespace (validated at load), and ':' cannot appear in an id, so no identity can claim another's session.
 */
export function clientIdBelongsTo(clientId: string, identity: Identity): boolean {
  if (identity.kind === 'anonymous') return true;
  if (identity.kind === 'gateway') return clientId === identity.gatewayId || clientId.startsWith(`${identity.gatewayId}:`);
  const u = identity.username;
  return clientId === u || clientId.startsWith(`${u}-`) || clientId.startsWith(`${u}:`);
}
