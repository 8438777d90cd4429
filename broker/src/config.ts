import { z } from 'zod';
import { isValidId, portSchema } from '@tamky/protocol';

const port = portSchema;
const host = z.string().min(1);
const secretHash = z
  .string()
  .regex(
    /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
    'must be a "scrypt$N$r$p$salt$hash" string from `tsx broker/src/cli.ts hash-secret`',
  );
const identifier = z.string().refine(isValidId, 'use 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -)');

/** Optional: after this instant the secret is refused at CONNECT and sessions using it are disconnected. */
const secretExpiresAt = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, e.g. 2027-06-30T00:00:00+07:00' })
  .optional();

export const gatewayCredentialSchema = z.object({
  id: identifier,
  secretHash,
  disabled: z.boolean().default(false),
  secretExpiresAt,
});

/** `lorawan`: the LoRaWAN connector's registry follower (it publishes as a gateway, with a gateway's credential). */
export const serviceRoleSchema = z.enum(['ingest', 'dashboard', 'lorawan']);
export type ServiceRole = z.infer<typeof serviceRoleSchema>;

export const serviceCredentialSchema = z.object({
  username: identifier,
  secretHash,
  role: serviceRoleSchema,
  disabled: z.boolean().default(false),
  secretExpiresAt,
});

export const credentialsSchema = z
  .object({
    gateways: z.array(gatewayCredentialSchema).default([]),
    services: z.array(serviceCredentialSchema).default([]),
  })
  .superRefine((creds, ctx) => {
    // A gateway id and a service username share one namespace: both are MQTT usernames and clientId prefixes.
    const seen = new Map<string, string>();
    creds.gateways.forEach((g, i) => {
      if (seen.has(g.id))
        ctx.addIssue({ code: 'custom', path: ['gateways', i, 'id'], message: `duplicate id "${g.id}" (also ${seen.get(g.id)})` });
      seen.set(g.id, `gateways[${i}]`);
    });
    creds.services.forEach((s, i) => {
      if (seen.has(s.username))
        ctx.addIssue({
          code: 'custom',
          path: ['services', i, 'username'],
          message: `duplicate name "${s.username}" (also ${seen.get(s.username)})`,
        });
      seen.set(s.username, `services[${i}]`);
    });
  });
export type Credentials = z.infer<typeof credentialsSchema>;

const tlsListenerSchema = z.object({
  host: host.default('0.0.0.0'),
  port,
  cert: z.string().min(1),
  key: z.string().min(1),
  ca: z.string().min(1).optional(),
  /** Ask gateways for a client certificate; when presented and trusted, its CN must equal the MQTT username. */
  requestClientCert: z.boolean().default(false),
});

export const limitsSchema = z.object({
  maxConnections: z.number().int().positive().default(5000),
  maxPacketBytes: z.number().int().min(64).max(268_435_455).default(262_144),
  maxTopicLevels: z.number().int().min(1).max(100).default(8),
  /** A socket that has not sent CONNECT by then is closed (idle sockets must not hold connection slots). */
  connectTimeoutMs: z.number().int().positive().default(5_000),
  /** Sockets one remote address may hold open before their CONNECT; more are closed on accept. */
  maxPendingSocketsPerAddress: z.number().int().positive().default(64),
  /** Per gateway / anonymous client; services are trusted and not rate limited. */
  publishesPerSecond: z.number().positive().default(200),
  /** Bucket size: how far above the steady rate a client may burst (defaults to 2 s worth). */
  publishBurst: z.number().positive().optional(),
  drainTimeoutMs: z.number().int().positive().default(30_000),
  maxOfflineMessages: z.number().int().positive().default(100_000),
  /**
   * Messages a reconnecting session's resend keeps unacknowledged at once (MQTT 3.1.1 has no Receive Maximum;
   * this is the broker's window, as Mosquitto's max_inflight_messages). Below 65,535 packet ids, with room for
   * live deliveries beside it.
   */
  resendWindow: z.number().int().min(1).max(32_768).default(1_000),
  /** New CONNECTs accepted per second from one remote address before they are refused. */
  connectsPerSecondPerAddress: z.number().positive().default(50),
});
export type Limits = z.infer<typeof limitsSchema>;

export const persistenceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory') }),
  z.object({ type: z.literal('redis'), url: z.string().regex(/^rediss?:\/\//, 'must be redis://host:port[/db]') }),
]);

export const brokerConfigSchema = z
  .object({
    profile: z.enum(['development', 'production']),
    /** Names this node in logs and metrics; defaults to a random id (aedes). */
    nodeId: z.string().min(1).optional(),
    listeners: z.object({
      mqtt: z.object({ host: host.default('0.0.0.0'), port }),
      ws: z.object({ host: host.default('0.0.0.0'), port, path: z.string().default('/mqtt') }).optional(),
      tls: tlsListenerSchema.optional(),
    }),
    credentials: credentialsSchema.optional(),
    /** Same shape as `credentials`, in its own YAML/JSON file; re-read on SIGHUP (CLI) or reloadCredentials(). */
    credentialsFile: z.string().min(1).optional(),
    limits: limitsSchema.default(limitsSchema.parse({})),
    persistence: persistenceSchema.default({ type: 'memory' }),
    /** Several brokers share messages (mqemitter-redis) and sessions; persistence then defaults to this redis too. */
    cluster: z.object({ redisUrl: z.string().regex(/^rediss?:\/\//, 'must be redis://host:port[/db]') }).optional(),
    metrics: z.object({ host: host.default('127.0.0.1'), port }).optional(),
    /**
     * How often this node announces itself to the others (aedes heartbeat). A node silent for three of them is
     * taken for dead, and the wills it stored are published (after their owner's rights are checked again).
     */
    heartbeatIntervalMs: z.number().int().min(100).default(60_000),
    /**
     * The broker's own health, published on topics.systemHealth(service) every `intervalMs` for the `system`
     * alarm rules (connections, offline session queues, certificate expiry). `certificates`: PEM files or
     * folders of them (deploy/certs: the CA, the broker's and the gateways' certificates); the TLS listener's
     * certificate is always watched. In a cluster give each node its own `service` name.
     */
    selfWatch: z
      .object({
        enabled: z.boolean().default(true),
        service: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'use 1-64 of A-Z a-z 0-9 _ . -')
          .default('broker'),
        intervalMs: z.number().int().min(100).default(10_000),
        certificates: z.array(z.string().min(1)).default([]),
      })
      .default({ enabled: true, service: 'broker', intervalMs: 10_000, certificates: [] }),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.credentials && cfg.credentialsFile)
      ctx.addIssue({ code: 'custom', path: ['credentialsFile'], message: 'give either credentials or credentialsFile, not both' });
  });

export type BrokerConfig = z.input<typeof brokerConfigSchema>;
export type ResolvedBrokerConfig = z.output<typeof brokerConfigSchema>;
