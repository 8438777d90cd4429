import { z } from 'zod';
import { ID_HINT, ID_PATTERN } from '@tamky/protocol';
import { gatewayMqttSchema, gatewayOutboxSchema } from '@tamky/edge';

const id = z.string().regex(ID_PATTERN, ID_HINT);
const mqttUrl = z.string().regex(/^(mqtts?|wss?|tcp):\/\//, 'must be an mqtt://, mqtts://, ws:// or wss:// URL');

export const connectorConfigSchema = z.object({
  /** The connector's identity on our broker: a gateway id in the registry (its LoRaWAN devices name it). */
  gatewayId: id,
  /** Our broker, reached as that gateway. */
  mqtt: gatewayMqttSchema,
  /** ChirpStack's MQTT integration broker. */
  chirpstack: z.object({
    url: mqttUrl,
    username: z.string().optional(),
    password: z.string().optional(),
    /** Persistent session: while the connector is down, ChirpStack's broker keeps its events. */
    clientId: z.string().min(1),
    caFile: z.string().optional(),
    /** ChirpStack application id(s) to follow; '+' follows every application the login may read. */
    applicationIds: z.array(z.string().min(1)).min(1).default(['+']),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
  }),
  /**
   * Where the registry comes from: the city file at start, then (if `mqtt` is set) the registry the dashboard
   * publishes retained on city/v1/config/registry, read with a login of role `lorawan`.
   */
  registry: z.object({
    cityFile: z.string().optional(),
    mqtt: z
      .object({ url: mqttUrl, username: z.string().optional(), password: z.string().optional(), clientId: z.string().min(1) })
      .optional(),
  }),
  profilesFile: z.string().min(1),
  /** Defaults to lorawan/codecs. */
  codecsDir: z.string().optional(),
  /** Per payload (a timeout is confirmed once under 8× this before the payload is dead-lettered: codecs/sandbox.ts). */
  codecTimeoutMs: z.number().int().min(1).max(5000).default(250),
  /** A frame (DevEUI, DevAddr, frame counter) seen again within this time of its first copy is the same uplink. */
  lateCopyWindowMs: z.number().int().min(0).default(60_000),
  /** How long uplink identities are remembered (longer than ChirpStack's broker keeps undelivered events). */
  ledgerRetentionMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 3600_000),
  // A connector replays a backlog faster than a gateway on a slow uplink.
  outbox: gatewayOutboxSchema.extend({ replayPerSecond: z.number().int().min(1).default(2000) }),
  health: z.object({ intervalMs: z.number().int().min(1000).default(30_000) }).default({ intervalMs: 30_000 }),
  metrics: z.object({ port: z.number().int().min(0).max(65535), host: z.string().default('127.0.0.1') }).optional(),
});

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export type ConnectorConfigInput = z.input<typeof connectorConfigSchema>;
