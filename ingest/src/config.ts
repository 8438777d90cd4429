import { z } from 'zod';
import { portSchema } from '@tamky/protocol';
import { LIVE_MAX_BYTES } from './live-feed';

/**
 * The ingest config file (YAML). `store` is validated by @tamky/store's own schema when the CLI opens it,
 * so this schema only requires it to be an object with a `type`.
 */
export const ingestConfigSchema = z
  .object({
    mqtt: z.object({
      url: z.string().min(1),
      username: z.string().optional(),
      password: z.string().optional(),
      /** Fixed: the broker keeps this client's persistent session (and its unacked messages) across restarts. */
      clientId: z.string().min(1).default('ingest-1'),
      keepaliveS: z.number().int().min(5).max(3600).default(30),
      /** 4 (MQTT 3.1.1, our broker) or 5 (needed for `sharedGroup`). */
      protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
      /**
       * MQTT 5 shared subscription group: N instances (each with its own clientId) subscribe to the telemetry,
       * status and health wildcards as `$share/{group}/…` and the broker spreads messages among them
       * (Mosquitto 2, EMQX; not our aedes broker). Exclusive with `partition`.
       */
      sharedGroup: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'use 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -)')
        .optional(),
      /**
       * MQTT 5 only: how long the broker keeps this persistent session (and its queued messages) after a
       * disconnect. The default is "never expires", which at-least-once delivery across an outage needs.
       */
      sessionExpiryS: z.number().int().min(1).max(0xffffffff).default(0xffffffff),
    }),
    partition: z
      .object({ index: z.number().int().min(0), count: z.number().int().min(1) })
      .refine((p) => p.index < p.count, { message: 'index must be < count', path: ['index'] })
      .default({ index: 0, count: 1 }),
    batch: z
      .object({
        /**
         * Flush as soon as this many readings wait. Under sustained load a batch is what waited while the
         * previous ones were written, up to this: large enough that a commit covers several readings of every
         * device (SQLite writes each index page a batch touches once per commit; city-shaped traffic touches one
         * per device), bench/ingest-lag/RESULTS.md.
         */
        maxReadings: z.number().int().min(1).default(20_000),
        /** Flush at the latest this long after the oldest waiting message arrived. */
        maxDelayMs: z.number().int().min(0).default(200),
        /**
         * Flush early once no message has arrived for this long (0: off): at low load a reading is stored
         * within a few ms instead of waiting `maxDelayMs`; under load batches still fill (BatchPipeline).
         */
        idleMs: z.number().int().min(0).default(20),
        /**
         * Batches written concurrently. 2 overlaps one batch's round trip to a server store (InfluxDB) with
         * the next; acks still follow durability message by message. An embedded store writes synchronously,
         * so there it changes nothing.
         */
        maxInFlight: z.number().int().min(1).max(8).default(2),
      })
      .default({ maxReadings: 20_000, maxDelayMs: 200, idleMs: 20, maxInFlight: 2 }),
    /**
     * Bound on what ingest holds unacknowledged in memory. When reached it stops reading from the broker
     * connection; the broker keeps the rest (its inflight window / session queue).
     */
    backpressure: z
      .object({
        maxUnackedMessages: z.number().int().min(1).default(2000),
        maxUnackedBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024 * 1024),
        retryBaseMs: z.number().int().min(1).default(100),
        retryMaxMs: z.number().int().min(1).default(10_000),
      })
      .default({ maxUnackedMessages: 2000, maxUnackedBytes: 64 * 1024 * 1024, retryBaseMs: 100, retryMaxMs: 10_000 }),
    /**
     * Hourly derived values (VN_AQI, noise, congestion, lighting): a changed (device, hour) is recomputed and
     * rewritten at most once per `coalesceMs` (0: with every batch that changed it). The running hour's value
     * is then up to that much behind its raw readings; the values themselves are the same.
     */
    derive: z.object({ coalesceMs: z.number().int().min(0).default(5000) }).default({ coalesceMs: 5000 }),
    store: z.looseObject({ type: z.string() }).optional(),
    /** Path of the city model (wards, gateways, devices). */
    city: z.string().optional(),
    limitsDir: z.string().default('config/limits'),
    metrics: z.object({ port: portSchema, host: z.string().default('127.0.0.1') }).optional(),
    /**
     * Alarm detection on this instance's partition. Rules come from the dashboard's retained
     * config/rules topic; `rulesFile` is what is in force until that arrives.
     */
    alarms: z.object({ enabled: z.boolean().default(true), rulesFile: z.string().optional() }).default({ enabled: true }),
    /**
     * Follow the device registry the dashboard publishes retained on config/registry: the city file is the
     * starting point, each valid message replaces it (an invalid one is logged, counted and ignored).
     */
    registry: z
      .object({
        follow: z.boolean().default(true),
        /** At start, wait this long for the retained registry before taking telemetry (see retained-registry.ts). */
        startWaitMs: z.number().int().min(0).default(1000),
      })
      .default({ follow: true, startWaitMs: 1000 }),
    /**
     * Ingest's own health for the `system` alarm rules (disk under the store, refused writes, oldest unacked
     * message), handed to its detector every `intervalMs`. `diskPath` defaults to an SQLite store's file.
     */
    selfWatch: z
      .object({ intervalMs: z.number().int().min(100).default(5000), diskPath: z.string().optional() })
      .default({ intervalMs: 5000 }),
    live: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * Readings per live message (QoS 0), sized to keep a message under the broker's default maxPacketBytes
         * (256 KiB), which disconnects a client sending more; `maxBytes` below enforces it whatever the readings.
         */
        chunk: z.number().int().min(1).default(500),
        /** And at most this many bytes per live message. */
        maxBytes: z.number().int().min(1024).default(LIVE_MAX_BYTES),
        /**
         * `every`: each stored reading is published (what the fault harness times arrivals by).
         * `latest`: per batch only the newest reading of each device, which is all a live screen shows;
         * while ingest catches up on a backlog this publishes a fraction of the readings and saves ingest
         * CPU per reading (figures: bench/ingest/RESULTS.md).
         */
        mode: z.enum(['every', 'latest']).default('every'),
      })
      .default({ enabled: true, chunk: 500, maxBytes: LIVE_MAX_BYTES, mode: 'every' }),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.mqtt.sharedGroup === undefined) return;
    if (cfg.mqtt.protocolVersion !== 5)
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'protocolVersion'],
        message: 'must be 5 when mqtt.sharedGroup is set (shared subscriptions are MQTT 5)',
      });
    if (cfg.partition.count !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['partition', 'count'],
        message: 'must be 1 when mqtt.sharedGroup is set (the broker spreads messages; instances do not partition gateways)',
      });
  });

export type IngestConfig = z.input<typeof ingestConfigSchema>;
export type ResolvedIngestConfig = z.output<typeof ingestConfigSchema>;
