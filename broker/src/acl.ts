import { TOPIC_ROOT, topics } from '@tamky/protocol';
import type { Identity } from './identity';

/**
 * Topic rights as plain segment comparisons, no regexes. A right is a pattern of levels where '+' stands for
 * exactly one level (which may itself be '+' in a subscription filter) and a trailing '#' for any remainder.
 */
export type Right = readonly string[];

const GW = [...TOPIC_ROOT.split('/'), 'gw'];
const root = TOPIC_ROOT.split('/');
const gw = (id: string, kind: string): Right => [...GW, id, kind];
const under = (...levels: string[]): Right => [...root, ...levels, '#'];

/**
 * What a gateway may publish under its own prefix (`status` also retained); it may subscribe only to what the centre
 * sends it: its `cmd`, its pushed `config` and its `release` (both retained, both only the dashboard's to publish).
 */
export const GATEWAY_PUBLISH_KINDS = new Set(['telemetry', 'status', 'health', 'cmd-result', 'event']);
export const GATEWAY_RETAIN_KINDS = new Set(['status']);
const CENTRE_TO_GATEWAY_KINDS = ['cmd', 'config', 'release'] as const;
export const gatewaySubscribeRights = (gatewayId: string): Right[] => CENTRE_TO_GATEWAY_KINDS.map((k) => gw(gatewayId, k));

/** The rights of each service role; also what the Mosquitto dynamic-security provisioning mirrors (mosquitto/). */
export const SERVICE_RIGHTS = {
  ingest: {
    subscribe: [
      ...['telemetry', 'health', 'status', 'event', 'cmd-result'].map((k) => gw('+', k)),
      under('config'),
      [...root, 'system', '+', 'health'],
    ],
    // Its own report, beside the others on system/+/health: every ingest instance under one name (its `service` says which).
    publish: [under('live'), under('alarm'), topics.ingestHealth().split('/')],
    retain: [] as Right[],
  },
  dashboard: {
    subscribe: [
      ...['status', 'health', 'cmd-result', 'event'].map((k) => gw('+', k)),
      under('live'),
      under('alarm'),
      // Who notices a service that stopped reporting (ingest down): alarms/service-watch.ts.
      [...root, 'system', '+', 'health'],
    ],
    publish: [...CENTRE_TO_GATEWAY_KINDS.map((k) => gw('+', k)), under('config'), [...root, 'system', 'dashboard', 'health']],
    retain: [gw('+', 'config'), gw('+', 'release'), under('config')],
  },
  lorawan: {
    subscribe: [under('config')],
    publish: [] as Right[],
    retain: [] as Right[],
  },
} as const;

/** Does `topic` (levels; in a filter, wildcards allowed only where the right allows the same) fall within `right`? */
function within(levels: string[], right: Right, isFilter: boolean): boolean {
  for (let i = 0; i < right.length; i++) {
    const r = right[i]!;
    if (r === '#') return true; // the remainder, including nothing, is covered
    const l = levels[i];
    if (l === undefined) return false;
    if (r === '+') {
      if (isFilter && l === '#') return false;
      continue;
    }
    if (l !== r) return false; // a '+' or '#' in the filter where the right names a level widens it beyond the right
  }
  return levels.length === right.length;
}

const anyWithin = (topic: string, rights: readonly Right[], isFilter: boolean) => {
  const levels = topic.split('/');
  return rights.some((r) => within(levels, r, isFilter));
};

export type Refusal = 'not-allowed-topic' | 'retain-not-allowed' | 'reserved-topic';

export function mayPublish(identity: Identity, topic: string, retain: boolean): Refusal | undefined {
  if (topic.startsWith('$')) return 'reserved-topic';
  // Read-only: commands and config must go through the dashboard, which authenticates and audits them.
  if (identity.kind === 'anonymous') return 'not-allowed-topic';
  if (identity.kind === 'gateway') {
    // Hot path (every reading): one prefix comparison and one set lookup on the last level.
    if (!topic.startsWith(identity.prefix)) return 'not-allowed-topic';
    const kind = topic.slice(identity.prefix.length);
    if (!GATEWAY_PUBLISH_KINDS.has(kind)) return 'not-allowed-topic';
    if (retain && !GATEWAY_RETAIN_KINDS.has(kind)) return 'retain-not-allowed';
    return undefined;
  }
  const rights = SERVICE_RIGHTS[identity.role];
  if (!anyWithin(topic, rights.publish, false)) return 'not-allowed-topic';
  if (retain && !anyWithin(topic, rights.retain, false)) return 'retain-not-allowed';
  return undefined;
}

export function maySubscribe(identity: Identity, filter: string): Refusal | undefined {
  if (identity.kind === 'anonymous') return undefined; // loopback development only, read-only; `#` deliberately allowed there
  if (filter.startsWith('$')) return 'reserved-topic';
  const rights = identity.kind === 'gateway' ? gatewaySubscribeRights(identity.gatewayId) : SERVICE_RIGHTS[identity.role].subscribe;
  return anyWithin(filter, rights, true) ? undefined : 'not-allowed-topic';
}
