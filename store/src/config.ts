import { z } from 'zod';

const DAY_MS = 86_400_000;

/**
 * Defaults sized so the simulated city at city scale (20,800 devices every 30 s) stays within 500 GB on the
 * embedded store (store/README.md, "Sizing", figures from bench/store/sizing.ts). Charts over days read the
 * hourly rollups; minute rollups serve ranges of a few days, so they need not outlive the raw rows by much.
 */
export const retentionSchema = z.object({
  /** Raw readings (one row per reading) are kept this many days. */
  rawDays: z.number().positive().default(14),
  /** One-minute rollups. */
  minuteDays: z.number().positive().default(14),
  /** One-hour rollups: the long history that trend charts read. */
  hourDays: z.number().positive().default(730),
  /** How often the sweep runs, ms. */
  intervalMs: z.number().int().positive().default(3_600_000),
});

export const sqliteStoreConfigSchema = z.object({
  type: z.literal('sqlite'),
  path: z.string().min(1),
  retention: retentionSchema.optional(),
  /**
   * `normal` (default): WAL with synchronous=NORMAL. A committed transaction is in the WAL file before
   * writeBatch resolves, so it survives the process being killed; only an OS crash or power cut can lose
   * the last transactions (the WAL is fsynced at checkpoints, not at every commit). `full`: fsync at every
   * commit, survives power loss too, at several times the write cost on spinning or SD-card storage.
   */
  synchronous: z.enum(['normal', 'full']).default('normal'),
  /**
   * Run the store on a worker thread of its own (writers only; a read-only handle is always inline).
   * better-sqlite3 blocks the thread it runs on: inline, the store's work adds up with ingest's parsing and
   * validation; on its own thread the two overlap on two cores. Batches cross as columns whose memory is
   * handed over (encoded-batch.ts), so the crossing stays cheap (figures: bench/store/RESULTS.md). `false` for a single-core device, where the two cannot overlap.
   */
  worker: z.boolean().default(true),
  /**
   * How often (ms) the writer folds committed raw rows into the minute and hourly rollups (off the write path;
   * queries add the rows not folded yet, so answers never lag). Longer: fewer, larger rollup upserts.
   */
  rollupIntervalMs: z.number().int().positive().default(1000),
  /**
   * SQLite's page cache per connection, MiB. A batch touches a page of the readings' unique index per device it
   * holds: when those pages do not fit, they are read again from the file and written to the WAL more than
   * once per batch (bench/store/RESULTS.md, "page cache").
   */
  cacheMb: z.number().int().positive().default(64),
});

export const influxStoreConfigSchema = z
  .object({
    type: z.literal('influxdb'),
    url: z.url(),
    /** `v1`: POST /write (InfluxDB 1.x up to 1.7). `v2`: POST /api/v2/write (1.8+, 2.x, 3 Core). Reads always use InfluxQL /query. */
    api: z.enum(['v1', 'v2']),
    /** Database for /write and /query (v1); on 2.x/3 Core the database name /query maps to the bucket (DBRP). Defaults to bucket. */
    database: z.string().min(1).optional(),
    retentionPolicy: z.string().min(1).optional(),
    org: z.string().optional(),
    bucket: z.string().min(1).optional(),
    token: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    precision: z.literal('ms').default('ms'),
    /** v1 only: issue CREATE DATABASE on open (needs admin rights; a failure is logged, not fatal). */
    createDatabase: z.boolean().default(true),
    timeoutMs: z.number().int().positive().default(10_000),
    /**
     * v1 writer: gzip the request body. Far fewer bytes on the wire, at client CPU (zlib, off the event
     * loop) and server CPU to decompress: for a remote server over a slow or metered link, not for one on
     * the same machine (bench/ingest/RESULTS.md). Unset: off for v1, on for v2 (influxdb-client's own
     * default, bodies above 1 KB).
     */
    gzip: z.boolean().optional(),
    /**
     * Long ranges read from hourly downsampled data: a retention policy filled by a continuous query with
     * sum/count/min/max/last per field and hour (1.x; set up on open when `setup`; 2.x/3 Core: see
     * README). A query with a window of whole hours over at least `minRangeMs` reads the downsampled
     * policy up to `lagMs` ago (the CQ resamples the last 2 h every hour) and the raw data after; with no
     * downsampled data (not set up, not yet run) it falls back to raw GROUP BY time.
     */
    downsample: z
      .object({
        retentionPolicy: z.string().min(1).default('1h'),
        minRangeMs: z
          .number()
          .int()
          .positive()
          .default(2 * DAY_MS),
        lagMs: z
          .number()
          .int()
          .min(0)
          .default(2 * 3_600_000),
        setup: z.boolean().default(true),
        durationWeeks: z.number().int().positive().default(520),
      })
      .optional(),
    /** Lines per HTTP request (InfluxData recommends about 5000). */
    batchLines: z.number().int().positive().default(5000),
  })
  .refine((c) => c.api !== 'v1' || c.database, { message: 'api v1 needs `database`', path: ['database'] })
  .refine((c) => c.api !== 'v2' || c.bucket, { message: 'api v2 needs `bucket`', path: ['bucket'] });

export const victoriaStoreConfigSchema = z
  .object({
    type: z.literal('victoriametrics'),
    /** Single node: its base URL (`/write`, `/api/v1/query`, `/internal/force_flush`, `/health`). */
    url: z.url().optional(),
    /** Cluster: vminsert's InfluxDB base, e.g. `http://vminsert:8480/insert/0/influx` (`/write` is appended). */
    writeUrl: z.url().optional(),
    /** Cluster: vmselect's Prometheus base, e.g. `http://vmselect:8481/select/0/prometheus` (`/api/v1/query` is appended). */
    queryUrl: z.url().optional(),
    /** Line-protocol measurement; series are named `{measurement}_{field}`. */
    measurement: z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
      .default('city'),
    /**
     * Single node: after each write, `/internal/force_flush`, so a batch is on disk (durable, and readable at
     * once) before writeBatch resolves. Without it VictoriaMetrics acknowledges from memory and flushes within
     * about a second: a crash of the server then loses readings ingest already acknowledged. Ignored without `url`.
     */
    flushAfterWrite: z.boolean().default(true),
    /** How far back `latest`, `sequences` and `deadLetters` look when not given a start. */
    latestLookbackDays: z.number().positive().default(30),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .refine((c) => c.url || (c.writeUrl && c.queryUrl), {
    message: 'give `url` (single node) or both `writeUrl` and `queryUrl` (cluster)',
    path: ['url'],
  });

export const storeConfigSchema = z.discriminatedUnion('type', [
  sqliteStoreConfigSchema,
  influxStoreConfigSchema,
  victoriaStoreConfigSchema,
]);

export type StoreConfig = z.input<typeof storeConfigSchema>;
export type SqliteStoreConfig = z.output<typeof sqliteStoreConfigSchema>;
export type InfluxStoreConfig = z.output<typeof influxStoreConfigSchema>;
export type VictoriaStoreConfig = z.output<typeof victoriaStoreConfigSchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;

export { DAY_MS };
