import { resolve } from 'node:path';
import { z } from 'zod';
import { interFrameGapMs } from '@tamky/modbus';
import { DEFAULT_PROFILES_DIR, profileLoader, ProfileError } from './profile/load';
import type { Profile } from './profile/schema';
import { ID_HINT, ID_PATTERN } from '@tamky/protocol';

const id = z.string().regex(ID_PATTERN, ID_HINT);

const tcpBus = z.object({
  id,
  type: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  timeoutMs: z.number().int().min(10).max(60_000).default(1000),
  /** Pause between transactions; some Modbus TCP gateways in front of RS-485 need it. */
  interFrameGapMs: z.number().min(0).max(1000).default(0),
});

const serialSettings = {
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
};

const rtuBus = z.object({
  id,
  type: z.literal('rtu'),
  ...serialSettings,
  timeoutMs: z.number().int().min(10).max(60_000).default(500),
  /** Silence between frames; default 3.5 character times at the bus's baud rate. */
  interFrameGapMs: z.number().min(0).max(1000).optional(),
});

const sds011Bus = z.object({ id, type: z.literal('sds011'), ...serialSettings });

/** Sensors that print text lines (e.g. "PM2.5=12.3 PM10=20.1\r\n"): a delimiter and a regex with named groups. */
const lineBus = z.object({
  id,
  type: z.literal('line'),
  ...serialSettings,
  delimiter: z.string().min(1).default('\n'),
  pattern: z
    .string()
    .min(1)
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression'),
});

const busSchema = z.discriminatedUnion('type', [tcpBus, rtuBus, sds011Bus, lineBus]);

const deviceSchema = z.object({
  id,
  profile: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a profile file name without .yaml'),
  bus: id,
  unitId: z.number().int().min(0).max(255).default(1),
  pollIntervalMs: z.number().int().min(100).max(86_400_000).default(5000),
  /** Per-device scale/offset (e.g. a water-level station's mounting height as the `level` offset). */
  overrides: z.record(z.string(), z.object({ scale: z.number().finite().optional(), offset: z.number().finite().optional() })).default({}),
  /** Read only these fields (a street-light controller with 2 lamps lists lamp1_*, lamp2_* and the meter). */
  fields: z.array(z.string()).optional(),
  enabled: z.boolean().default(true),
});

/** How a gateway (or anything publishing as one, like the LoRaWAN connector) reaches the broker. */
/** The durable outbox on a gateway (and on the LoRaWAN connector, which forwards through the same one). */
export const gatewayOutboxSchema = z.object({
  path: z.string().min(1),
  maxReadings: z.number().int().min(100).default(1_000_000),
  maxAgeMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 3600 * 1000),
  replayPerSecond: z.number().int().min(1).default(500),
  /** Readings per MQTT message. */
  batchSize: z.number().int().min(1).max(10_000).default(500),
  /** Unacknowledged MQTT messages at a time. */
  maxInflight: z.number().int().min(1).max(100).default(4),
  /** 'full' survives power loss, 'normal' survives a process crash only (faster on SD cards). */
  synchronous: z.enum(['full', 'normal']).default('full'),
});

export const gatewayMqttSchema = z.object({
  url: z.string().regex(/^(mqtts?|wss?|tcp):\/\//, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
  username: z.string().optional(),
  password: z.string().optional(),
  clientId: z.string().optional(),
  /** PEM CA bundle for mqtts:// to a broker with a private CA. */
  caFile: z.string().optional(),
  /**
   * Mutual TLS: this gateway's own certificate (CN = gateway id, issued by the city CA) and its key, PEM.
   * The broker then knows the gateway by its certificate: no password is needed (a username must match).
   */
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  keepaliveS: z.number().int().min(5).max(3600).default(30),
  connectTimeoutMs: z.number().int().min(1000).default(10_000),
  reconnect: z
    .object({ baseMs: z.number().int().min(10).default(1000), maxMs: z.number().int().min(10).default(60_000) })
    .default({ baseMs: 1000, maxMs: 60_000 }),
});

const baseSchema = z.object({
  gatewayId: id,
  mqtt: gatewayMqttSchema,
  outbox: gatewayOutboxSchema,
  health: z.object({ intervalMs: z.number().int().min(1000).default(30_000) }).default({ intervalMs: 30_000 }),
  /** The gateway's clock (src/clock.ts): what counts as a step, and how the system says it is synchronised. */
  clock: z
    .object({
      /** A jump of the wall clock against the monotonic clock larger than this is a step (NTP slews below it). */
      stepMs: z.number().int().min(10).max(3_600_000).default(1000),
      /** A file the time daemon creates once synchronised (systemd-timesyncd: /run/systemd/timesync/synchronized); absent: assumed synchronised. */
      syncedFile: z.string().min(1).optional(),
    })
    .default({ stepMs: 1000 }),
  /** A device answering nothing is probed at most this rarely (exponential backoff with jitter up to it). */
  deviceBackoffMaxMs: z.number().int().min(100).default(60_000),
  metrics: z.object({ port: z.number().int().min(0).max(65535), host: z.string().default('127.0.0.1') }).optional(),
  profilesDir: z.string().optional(),
  /**
   * Configuration pushed from the centre and software updates (fleet/). Without this section the gateway takes no
   * pushed configuration or release (it still keeps set_poll_interval across restarts).
   */
  fleet: z
    .object({
      /** The centre's fleet public key (ed25519, PEM): every pushed config and release must be signed with its private key. */
      publicKeyFile: z.string().min(1),
      /** A pushed configuration is kept only if its devices answer within this long; otherwise the previous one returns. */
      configDeadlineMs: z.number().int().min(1000).max(600_000).default(60_000),
      /**
       * The install root the launcher manages (`<root>/current` → `<root>/tamky-gateway-<version>`). Without it (or the
       * TAMKY_GATEWAY_ROOT the launcher sets) release announcements are refused: there is nowhere to install.
       */
      installRoot: z.string().optional(),
      /** PEM CA bundle for fetching releases from a centre with a private CA. */
      caFile: z.string().optional(),
    })
    .optional(),
  buses: z.array(busSchema),
  devices: z.array(deviceSchema),
});

export type GatewayConfig = z.infer<typeof baseSchema>;
export type BusConfig = GatewayConfig['buses'][number];
export type DeviceConfig = GatewayConfig['devices'][number];

export function profilesDirOf(config: Pick<GatewayConfig, 'profilesDir'>): string {
  return config.profilesDir ? resolve(config.profilesDir) : DEFAULT_PROFILES_DIR;
}

/**
 * Cross-checks that zod cannot express field by field: unique ids, devices on known buses, the device's
 * profile exists and is valid, its overrides and field list name fields of that profile, Modbus profiles
 * on Modbus buses. Messages name the device (and the profile file) so that a technician knows what to fix.
 */
export function checkDevices(config: GatewayConfig, ctx: z.RefinementCtx): void {
  if ((config.mqtt.certFile === undefined) !== (config.mqtt.keyFile === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['mqtt', config.mqtt.certFile === undefined ? 'certFile' : 'keyFile'],
      message: 'certFile and keyFile go together (the client certificate and its key)',
    });
  }
  if (config.mqtt.certFile !== undefined && !/^(mqtts|wss):\/\//.test(config.mqtt.url)) {
    ctx.addIssue({ code: 'custom', path: ['mqtt', 'url'], message: 'a client certificate needs an mqtts:// or wss:// URL' });
  }
  const load = profileLoader(profilesDirOf(config));
  const buses = new Map<string, BusConfig>();
  config.buses.forEach((b, i) => {
    if (buses.has(b.id)) ctx.addIssue({ code: 'custom', path: ['buses', i, 'id'], message: `duplicate bus id "${b.id}"` });
    buses.set(b.id, b);
  });
  // The replay cap applies to every reading sent; below the live rate a backlog would never drain.
  const liveRate = config.devices.filter((d) => d.enabled).reduce((sum, d) => sum + 1000 / d.pollIntervalMs, 0);
  if (liveRate * 1.5 > config.outbox.replayPerSecond) {
    ctx.addIssue({
      code: 'custom',
      path: ['outbox', 'replayPerSecond'],
      message: `${config.outbox.replayPerSecond} readings/s cannot drain a backlog while the devices produce ${liveRate.toFixed(1)} readings/s: set it to at least ${Math.ceil(liveRate * 1.5)}`,
    });
  }
  const seen = new Set<string>();
  const streamBusUsers = new Map<string, string>();
  config.devices.forEach((d, i) => {
    const at = (...p: (string | number)[]) => ['devices', i, ...p];
    if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: at('id'), message: `duplicate device id "${d.id}"` });
    seen.add(d.id);
    const bus = buses.get(d.bus);
    if (!bus)
      ctx.addIssue({
        code: 'custom',
        path: at('bus'),
        message: `device "${d.id}": unknown bus "${d.bus}" (buses: ${[...buses.keys()].join(', ') || 'none'})`,
      });
    let profile: Profile;
    try {
      profile = load(d.profile);
    } catch (err) {
      const msg = err instanceof ProfileError ? err.message : String(err);
      ctx.addIssue({
        code: 'custom',
        path: at('profile'),
        message: `device "${d.id}": profile "${d.profile}" is invalid:\n  ${msg.split('\n').join('\n  ')}`,
      });
      return;
    }
    const names = new Set([
      ...(profile.blocks ?? []).flatMap((b) => b.fields.map((f) => f.name)),
      ...(profile.stream?.fields ?? []).map((f) => f.name),
    ]);
    for (const name of Object.keys(d.overrides)) {
      if (!names.has(name))
        ctx.addIssue({
          code: 'custom',
          path: at('overrides', name),
          message: `device "${d.id}": field "${name}" is not in profile "${d.profile}" (fields: ${[...names].join(', ')})`,
        });
    }
    d.fields?.forEach((name, fi) => {
      if (!names.has(name))
        ctx.addIssue({
          code: 'custom',
          path: at('fields', fi),
          message: `device "${d.id}": field "${name}" is not in profile "${d.profile}"`,
        });
    });
    if (bus) {
      const modbusBus = bus.type === 'tcp' || bus.type === 'rtu';
      if (modbusBus !== Boolean(profile.blocks)) {
        ctx.addIssue({
          code: 'custom',
          path: at('profile'),
          message: `device "${d.id}": profile "${d.profile}" is a ${profile.blocks ? 'Modbus' : 'UART stream'} profile but bus "${bus.id}" is ${bus.type}`,
        });
      }
      if (!modbusBus) {
        const other = streamBusUsers.get(bus.id);
        if (other)
          ctx.addIssue({
            code: 'custom',
            path: at('bus'),
            message: `device "${d.id}": UART bus "${bus.id}" already carries device "${other}" (one sensor per UART)`,
          });
        streamBusUsers.set(bus.id, d.id);
      }
    }
  });
}

export const gatewayConfigSchema: z.ZodType<GatewayConfig> = baseSchema.superRefine(checkDevices) as unknown as z.ZodType<GatewayConfig>;

export function rtuGapMs(bus: Extract<BusConfig, { type: 'rtu' }>): number {
  return bus.interFrameGapMs ?? interFrameGapMs(bus.baudRate);
}
