import { z } from 'zod';
import { gatewayPrefix, isValidId } from '@tamky/protocol';
import { GATEWAY_PUBLISH_KINDS, gatewaySubscribeRights, SERVICE_RIGHTS, type Right } from '../acl';
import { serviceRoleSchema, type ServiceRole } from '../config';

const identifier = z.string().refine(isValidId, 'use 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -)');
const secret = z.string().min(12, 'at least 12 characters');

/**
 * What to provision on a Mosquitto 2 broker with the dynamic-security plugin. Unlike our broker's credentials
 * file (scrypt hashes), this carries the secrets themselves, since Mosquitto hashes them its own way: keep
 * them in `${ENV}` references.
 */
export const dynsecProvisioningSchema = z.object({
  admin: z.object({ url: z.string().min(1), username: z.string().min(1), password: z.string().min(1) }),
  /** The `$share/{group}/…` group ingest instances subscribe with (ingest's `mqtt.sharedGroup`). */
  ingestShareGroup: identifier.default('ingest'),
  gateways: z.array(z.object({ id: identifier, secret, disabled: z.boolean().default(false) })).default([]),
  services: z.array(z.object({ username: identifier, secret, role: serviceRoleSchema, disabled: z.boolean().default(false) })).default([]),
});
export type DynsecProvisioning = z.input<typeof dynsecProvisioningSchema>;
export type ResolvedDynsecProvisioning = z.output<typeof dynsecProvisioningSchema>;

export type DynsecAclType = 'publishClientSend' | 'subscribePattern';
export interface DynsecAcl {
  acltype: DynsecAclType;
  topic: string;
  allow: true;
}
export interface DynsecRole {
  rolename: string;
  acls: DynsecAcl[];
}
export interface DynsecClient {
  username: string;
  password: string;
  /** When set, Mosquitto accepts this username only with this client id. */
  clientid?: string;
  rolename: string;
  disabled: boolean;
}

const filter = (right: Right) => right.join('/');
const allow = (acltype: DynsecAclType, topic: string): DynsecAcl => ({ acltype, topic, allow: true });

export const gatewayRoleName = (gatewayId: string) => `tamky-gateway-${gatewayId}`;
export const serviceRoleName = (role: ServiceRole) => `tamky-service-${role}`;

/**
 * Our broker's ACL model (acl.ts) as dynamic-security roles: one role per gateway (publish only its own kinds
 * under its own prefix, subscribe only to its own `cmd`, `config` and `release`), one per service role. Mosquitto checks a shared
 * subscription against the whole `$share/{group}/…` filter, so ingest's filters are allowed in both forms.
 * Gateways are pinned to their id as client id: no gateway can take over another client's session.
 */
export function dynsecPlan(p: ResolvedDynsecProvisioning): { roles: DynsecRole[]; clients: DynsecClient[] } {
  const roles: DynsecRole[] = [];
  const clients: DynsecClient[] = [];
  for (const g of p.gateways) {
    const rolename = gatewayRoleName(g.id);
    roles.push({
      rolename,
      acls: [
        ...[...GATEWAY_PUBLISH_KINDS].map((kind) => allow('publishClientSend', `${gatewayPrefix(g.id)}${kind}`)),
        ...gatewaySubscribeRights(g.id).map((r) => allow('subscribePattern', filter(r))),
      ],
    });
    clients.push({ username: g.id, password: g.secret, clientid: g.id, rolename, disabled: g.disabled });
  }
  for (const role of serviceRoleSchema.options) {
    if (!p.services.some((s) => s.role === role)) continue;
    const rights = SERVICE_RIGHTS[role];
    const subscribe = rights.subscribe.map(filter);
    const shared = role === 'ingest' ? subscribe.map((f) => `$share/${p.ingestShareGroup}/${f}`) : [];
    roles.push({
      rolename: serviceRoleName(role),
      acls: [
        ...rights.publish.map((r) => allow('publishClientSend', filter(r))),
        ...[...subscribe, ...shared].map((f) => allow('subscribePattern', f)),
      ],
    });
  }
  for (const s of p.services)
    clients.push({ username: s.username, password: s.secret, rolename: serviceRoleName(s.role), disabled: s.disabled });
  return { roles, clients };
}
