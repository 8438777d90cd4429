import { z } from 'zod';
import { PUBLIC_FIELDS, portSchema, roleSchema, usernameSchema, type PublicKind } from '@tamky/protocol';
import { validAddressOrBlock } from './http/client-address';

const role = roleSchema;
const hash = z
  .string()
  .regex(/^scrypt\$/, 'must be a "scrypt$…" hash (create one with: npx tsx dashboard/server/src/cli.ts hash-password)');

export const userSeedSchema = z.object({
  username: usernameSchema,
  displayName: z.string().min(1),
  role,
  passwordHash: hash,
  /** Limit the account to these wards (ids from the city model); omitted: the whole city. */
  wards: z.array(z.string().min(1)).optional(),
});

const publicFields = <K extends PublicKind>(kind: K) => z.array(z.enum(PUBLIC_FIELDS[kind])).optional();

/**
 * What residents see without signing in (/public, /public/embed, GET /api/public/summary): nothing unless
 * listed here. `show` names each kind shown and, optionally, which of its fields (omitted: all of them).
 */
export const publicConfigSchema = z
  .object({
    /** Ward ids shown (omitted: every ward of the city). */
    wards: z.array(z.string().min(1)).optional(),
    show: z
      .object({ aqi: publicFields('aqi'), noise: publicFields('noise'), flood: publicFields('flood') })
      .strict()
      .partial()
      .default({}),
    /** How long one built summary is served to everyone (the crowd reads the cache, never the store). */
    cacheSeconds: z.number().int().min(1).max(3600).default(30),
    /** Requests per minute per client address before 429. */
    perMinutePerAddress: z.number().int().min(1).default(120),
    /** Origins allowed to frame /public/embed (the city portal), e.g. "https://tamky.gov.vn". */
    embedOrigins: z.array(z.string().url()).default([]),
  })
  .strict();
export type PublicConfig = z.output<typeof publicConfigSchema>;

export const dashboardConfigSchema = z.object({
  http: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: portSchema.default(8080),
      /** Base URL people reach the dashboard at; used for links in notifications. */
      publicUrl: z.string().url().default('http://localhost:8080'),
      /**
       * Addresses or CIDR blocks of the reverse proxies in front of the dashboard. X-Forwarded-For is
       * believed only when a listed proxy added it (rate limits and the audit log then see the client);
       * empty: the socket's peer is the client, whatever the header says.
       */
      trustedProxies: z
        .array(z.string().refine(validAddressOrBlock, 'must be an IP address or CIDR block, e.g. "172.18.0.2" or "172.18.0.0/16"'))
        .default([]),
      /** Replaced by trustedProxies: a hop count or `true` let anyone reaching the port forge their address. */
      trustProxy: z.undefined({ error: 'replaced by trustedProxies: list the reverse proxy addresses (or CIDR blocks)' }).optional(),
    })
    .default({ host: '127.0.0.1', port: 8080, publicUrl: 'http://localhost:8080', trustedProxies: [] }),
  /**
   * Prometheus metrics. With `port`, /metrics is served on its own listener (loopback unless `host` says
   * otherwise) and not on the dashboard port; with `token`, on the dashboard port to `Authorization:
   * Bearer <token>`; with neither, not served at all.
   */
  metrics: z
    .object({
      port: z.number().int().min(0).max(65535).optional(),
      host: z.string().default('127.0.0.1'),
      token: z.string().min(24, 'must be at least 24 characters').optional(),
    })
    .default({ host: '127.0.0.1' }),
  mqtt: z.object({
    url: z.string().min(1),
    username: z.string().optional(),
    password: z.string().optional(),
    clientId: z.string().min(1).default('dashboard-1'),
  }),
  stateDb: z.string().min(1),
  /** How often to look for a registry or recipients version saved by another process sharing the state DB, ms. */
  stateDbPollMs: z.number().int().positive().default(5000),
  /**
   * How often the dashboard reports the disk under its state DB on topics.systemHealth('dashboard') for the
   * `system` alarm rules (ms). That is the only disk it can see: an InfluxDB store's is on InfluxDB's host.
   */
  selfWatchMs: z.number().int().min(100).default(10_000),
  store: z.object({ type: z.string() }).passthrough().optional(),
  city: z.string().optional(),
  /** Static files of the built web app; index.html is served for the app's client-side routes. */
  webDist: z.string().optional(),
  /** Directory of limit data files (qcvn26-2010.yaml, vn-aqi.yaml; relative to the working directory); missing or invalid files fall back to dashboard/server/defaults. */
  limitsDir: z.string().default('config/limits'),
  /** The geographic map: ward areas and the basemap under them (none: plain background, works offline). */
  map: z
    .object({
      /** GeoJSON ward areas (protocol wardAreasSchema), e.g. config/tam-ky/wards.geojson; absent: devices and ward centres only. */
      wardAreas: z.string().optional(),
      basemap: z
        .discriminatedUnion('type', [
          z.object({ type: z.literal('none') }),
          /** The city tile server's MapLibre style document. */
          z.object({ type: z.literal('style'), url: z.string().url() }),
          /** The city tile server's raster XYZ tiles, e.g. https://tiles.example.vn/{z}/{x}/{y}.png */
          z.object({
            type: z.literal('tiles'),
            tiles: z.array(z.string().url()).min(1),
            tileSize: z.number().int().positive().default(256),
            maxzoom: z.number().min(0).max(24).default(19),
            attribution: z.string().default(''),
          }),
          /** A raster PMTiles archive on this server's disk, served by the dashboard (no tile server needed). */
          z.object({
            type: z.literal('pmtiles'),
            file: z.string().min(1),
            maxzoom: z.number().min(0).max(24).default(16),
            attribution: z.string().default(''),
          }),
        ])
        .default({ type: 'none' }),
      /** How the layers colour wards by value (protocol mapLayerLevelsSchema), e.g. config/tam-ky/map-layers.yaml. */
      layers: z.string().optional(),
      /** More origins the basemap's style loads from (sprites, glyphs, tiles), allowed by the Content-Security-Policy. */
      allowOrigins: z.array(z.string().url()).default([]),
    })
    .default({ basemap: { type: 'none' }, allowOrigins: [] }),
  users: z.array(userSeedSchema).default([]),
  /** A YAML/JSON file holding `users: [...]` like above (kept out of the main config so it can be secret). */
  usersFile: z.string().optional(),
  /** InfluxDB 1.x-compatible /query for Grafana and the influx CLI (API tokens of scope read:readings). */
  influxql: z.object({ database: z.string().min(1).default('tamky') }).default({ database: 'tamky' }),
  /** City reports (`/api/reports/…`) and their scheduled delivery by e-mail. */
  reports: z
    .object({
      /** TrueType font embedded in report PDFs (needs the Vietnamese letters). */
      font: z.string().min(1).optional(),
      /** Delivery file (config/reports/delivery.yaml): recipients, SMTP settings from the environment. Absent: nothing is mailed. */
      deliveryFile: z.string().min(1).optional(),
    })
    .optional(),
  kioskTokens: z.array(z.object({ name: z.string().min(1), tokenHash: hash })).default([]),
  /** The alarms module (lifecycle + notifications), loaded by the CLI; passed to createAlarmsModule as is. */
  alarms: z
    .object({
      rulesFile: z.string().optional(),
      /** Notification policy file, e.g. config/notify/policy.yaml. */
      notify: z.string().optional(),
      tickMs: z.number().int().positive().optional(),
      /**
       * Services whose silence the dashboard alarms itself (their system health reports stopped: down or hung),
       * e.g. `{ services: [ingest-1], silentAfterS: 60 }`: ingest's own detector cannot tell that it is down.
       */
      watchServices: z.object({ services: z.array(z.string().min(1)).min(1), silentAfterS: z.number().int().min(1) }).optional(),
    })
    .optional(),
  session: z
    .object({
      ttlHours: z.number().positive().default(12),
      secureCookies: z.boolean().default(false),
    })
    .default({ ttlHours: 12, secureCookies: false }),
  login: z
    .object({
      /** Failed attempts allowed per username within `windowMinutes`. */
      maxFailures: z.number().int().positive().default(10),
      /** Failed attempts allowed per client address (higher: a whole operations centre may share one NAT address). */
      maxFailuresPerAddress: z.number().int().positive().default(100),
      windowMinutes: z.number().positive().default(15),
    })
    .default({ maxFailures: 10, maxFailuresPerAddress: 100, windowMinutes: 15 }),
  commands: z
    .object({
      /** A command with no answer from its gateway after this long is reported as timed out (a late answer still counts). */
      timeoutMs: z.number().int().min(1000).default(30_000),
    })
    .default({ timeoutMs: 30_000 }),
  /**
   * Gateway fleet: configuration pushed from the registry and software releases, signed with the fleet key
   * (ed25519, PEM; gateways hold its public key). Absent: nothing is pushed and no release is served.
   */
  fleet: z
    .object({
      signingKeyFile: z.string().min(1),
      /** Release tarballs (`npm run release:gateway` output: `<name>.tgz` beside `<name>.json`), served to gateways. */
      releasesDir: z.string().min(1).optional(),
      /** The HTTPS address gateways fetch releases from (this server behind its TLS proxy); default http.publicUrl. */
      releaseBaseUrl: z
        .string()
        .regex(/^https:\/\//, 'must be an https:// URL')
        .optional(),
      /** A new version must report healthy within this long on a gateway, or that gateway rolls back. */
      deadlineMs: z.number().int().min(1000).default(120_000),
    })
    .optional(),
  /** The residents' page; absent: /api/public/summary answers 404 and nothing is public. */
  public: publicConfigSchema.optional(),
  ws: z
    .object({
      pingIntervalMs: z.number().int().positive().default(10_000),
      /** Live readings are dropped for a client whose socket buffer exceeds this many bytes. */
      maxBufferedBytes: z.number().int().positive().default(1_048_576),
    })
    .default({ pingIntervalMs: 10_000, maxBufferedBytes: 1_048_576 }),
});

export type DashboardConfig = z.input<typeof dashboardConfigSchema>;
export type ResolvedDashboardConfig = z.output<typeof dashboardConfigSchema>;
export type UserSeed = z.infer<typeof userSeedSchema>;
export { ROLES, type Role } from '@tamky/protocol';
