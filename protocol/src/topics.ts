/**
 * The versioned MQTT topic scheme. Every topic a gateway may touch starts with its own prefix
 * `city/v1/gw/{gatewayId}/`, so broker ACLs are prefix checks and a gateway can never speak for another.
 */
export const TOPIC_ROOT = 'city/v1';

import { isValidId } from './ids';

export { ID_HINT, ID_PATTERN, isValidId, NAME_HINT, NAME_PATTERN, isValidName } from './ids';

export function assertValidId(id: string, what = 'id'): string {
  if (!isValidId(id)) throw new Error(`invalid ${what} "${id}": use 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -)`);
  return id;
}

export const gatewayPrefix = (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/`;

export const topics = {
  /** Gateway → centre. Batch of readings, QoS 1. */
  telemetry: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/telemetry`,
  /** Gateway → centre. Retained; the last will sets it to offline. */
  status: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/status`,
  /** Gateway → centre. Periodic health report, QoS 1. */
  health: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/health`,
  /** Centre → gateway. Commands, QoS 1. The only topic a gateway may subscribe to. */
  command: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/cmd`,
  /**
   * Centre → gateway. Retained, signed configuration (devices and poll intervals from the registry, versioned);
   * only the dashboard may publish here (broker ACL), and the gateway verifies the signature as well.
   */
  gatewayConfig: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/config`,
  /** Centre → gateway. Retained, signed announcement of the software release this gateway should run. */
  gatewayRelease: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/release`,
  /** Gateway → centre. One result per command, carrying the command's correlation id. */
  commandResult: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/cmd-result`,
  /** Gateway → centre. Device events raised at the edge (e.g. lamp failure bits), QoS 1. */
  event: (gatewayId: string) => `${TOPIC_ROOT}/gw/${gatewayId}/event`,

  /** Ingest → dashboard. Readings after they are durable in the store (live feed), QoS 0. */
  liveReadings: () => `${TOPIC_ROOT}/live/readings`,
  /** Ingest → dashboard. Derived values (VN_AQI, LAeq, congestion, energy) after they are stored. */
  liveDerived: () => `${TOPIC_ROOT}/live/derived`,
  /** Ingest → dashboard. Alarm condition raised/updated/cleared, QoS 1, persistent session on the dashboard. */
  alarmEvent: (ruleId: string, sourceId: string) => `${TOPIC_ROOT}/alarm/${ruleId}/${sourceId}`,
  /** Dashboard → ingest and gateways. Retained configuration. */
  configRegistry: () => `${TOPIC_ROOT}/config/registry`,
  configRules: () => `${TOPIC_ROOT}/config/rules`,
  /** A service → ingest's detector. What it measured of itself (SystemHealth), QoS 0, every few seconds. */
  systemHealth: (service: string) => `${TOPIC_ROOT}/system/${service}/health`,
  /**
   * Ingest → the dashboard's service watch (not to other ingest instances: each judges its own). Every instance
   * reports here, its `service` (client id) saying which; ingest's own detector reads its report directly.
   */
  ingestHealth: () => `${TOPIC_ROOT}/system/ingest/health`,
} as const;

/** Subscription filters used by the services. */
export const filters = {
  allTelemetry: `${TOPIC_ROOT}/gw/+/telemetry`,
  allStatus: `${TOPIC_ROOT}/gw/+/status`,
  allHealth: `${TOPIC_ROOT}/gw/+/health`,
  allCommandResults: `${TOPIC_ROOT}/gw/+/cmd-result`,
  allEvents: `${TOPIC_ROOT}/gw/+/event`,
  allAlarms: `${TOPIC_ROOT}/alarm/#`,
  live: `${TOPIC_ROOT}/live/#`,
  allSystemHealth: `${TOPIC_ROOT}/system/+/health`,
  /**
   * Telemetry partitioned across N ingest instances. aedes has no shared subscriptions, so instances
   * split gateways by a stable hash; see partitionOf().
   */
} as const;

export type GatewayTopicKind = 'telemetry' | 'status' | 'health' | 'cmd' | 'cmd-result' | 'event' | 'config' | 'release';
const GATEWAY_TOPIC_KINDS = new Set<GatewayTopicKind>(['telemetry', 'status', 'health', 'cmd', 'cmd-result', 'event', 'config', 'release']);

/** Parses `city/v1/gw/{id}/{kind}`; returns undefined for anything else. */
export function parseGatewayTopic(topic: string): { gatewayId: string; kind: GatewayTopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'city' || parts[1] !== 'v1' || parts[2] !== 'gw') return undefined;
  const gatewayId = parts[3]!;
  const kind = parts[4] as GatewayTopicKind;
  if (!isValidId(gatewayId) || !GATEWAY_TOPIC_KINDS.has(kind)) return undefined;
  return { gatewayId, kind };
}

/** Stable partition of a gateway among `count` ingest instances (FNV-1a). */
export function partitionOf(gatewayId: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < gatewayId.length; i++) {
    h ^= gatewayId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}
