/**
 * Sustained MQTT → ingest → store rate against the same store written directly, in the same run.
 *
 *   npx tsx bench/ingest/run.ts [--readings 200000] [--per-message 500] [--stores sqlite,influxdb,victoriametrics,null] [--rounds 3] [--publishers 4] [--live every|latest] [--alarms] [--sqlite-inline] [--influx-gzip] [--no-direct] [--no-warmup]
 *
 * Mosquitto (real broker), ingest in-process with validation, derived values and the live feed on, into
 * the SQLite store (synchronous=NORMAL) and into InfluxDB 1.6.7 (Debian's, /write). Publishers (QoS 1,
 * 4 values per reading) run in a child process with payloads built before the clock starts. "Direct" writes
 * the same readings in the same batch size to the same kind of store. Rounds alternate direct and end to
 * end; the median per-round ratio is the figure (the machine is shared). Results go to bench/ingest/RESULTS.md.
 * For a profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/ingest/run.ts --stores null --rounds 1 --no-direct,
 * then npx tsx bench/ingest/cpuprofile-summary.ts /tmp/prof/<largest>.cpuprofile --readings <n> (µs per reading per function).
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { cityModelSchema, type DeadLetter, type Series, type StoredReading, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger, loadLimits } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { startInfluxd, startMosquitto, startVictoriaMetrics, tempDir } from '@tamky/test-support';
import { buildRegistry, startIngest, validateTelemetry } from '../../ingest/src/index';
import { createAlarmDetector, loadRules } from '../../ingest/src/alarms/index';
import { benchMessages, type PublisherJob } from './publisher';
import { startPublisherProcess } from '../support/publisher-process';
import { INGEST_NODE_FLAGS, relaunchWithIngestNodeFlags } from '../../ingest/src/node-flags';

// Ingest runs in this process: started the way its start scripts start it (node-flags.ts).
await relaunchWithIngestNodeFlags();

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '200000' },
    'per-message': { type: 'string', default: '500' },
    stores: { type: 'string', default: 'sqlite,influxdb' },
    publishers: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    /** InfluxDB /write bodies gzip-compressed (store config `gzip: true`), both paths. */
    'influx-gzip': { type: 'boolean', default: false },
    /** Ingest's SQLite store inline on ingest's thread (store config `worker: false`) instead of on its own thread as deployed. */
    'sqlite-inline': { type: 'boolean', default: false },
    /** ingest's live.mode: every (default, as deployed) or latest (coalesced). */
    live: { type: 'string', default: 'every' },
    /** Alarm detection on ingest's readings, as the CLI runs it (config/rules/default.yaml); events published on ingest's connection. */
    alarms: { type: 'boolean', default: false },
    /** Skip the direct-write comparison (for profiling the end-to-end path alone). */
    'no-direct': { type: 'boolean', default: false },
    /** Skip the uncounted warm-up round (for profiling). */
    'no-warmup': { type: 'boolean', default: false },
  },
});
const TOTAL = Number(args.readings);
const PER = Number(args['per-message']);
const PUBLISHERS = Number(args.publishers);
const ROUNDS = Number(args.rounds);
const WARMUP = !args['no-warmup'];
const LIVE = args.live === 'latest' ? 'latest' : 'every';
const GATEWAYS = 20;
const DEVICES_PER_GW = 10;
const BATCH = 5000;

const city = cityModelSchema.parse({
  id: 'bench',
  name: 'Bench',
  lat: 15.57,
  lon: 108.47,
  wards: [{ id: 'w1', name: 'W1', type: 'phuong', lat: 15.57, lon: 108.47, map: { x: 1, y: 1 } }],
  gateways: Array.from({ length: GATEWAYS }, (_, g) => ({ id: `gw-${g}`, ward: 'w1', name: `gw-${g}` })),
  devices: Array.from({ length: GATEWAYS * DEVICES_PER_GW }, (_, i) => ({
    id: `air-${i}`,
    kind: 'air_station',
    name: `air-${i}`,
    ward: 'w1',
    gateway: `gw-${i % GATEWAYS}`,
    lat: 15.57,
    lon: 108.47,
  })),
});

/**
 * The store written directly with what ingest writes for the same messages: the same readings (validated
 * outside the clock), the same batches of BATCH readings awaited one after the other.
 */
async function directRate(
  store: TimeSeriesStore,
  start: number,
  firstSeq: number,
): Promise<{ readingsPerSec: number; cpuSeconds: number }> {
  const registry = buildRegistry(city);
  const all: StoredReading[] = [];
  for (const m of benchMessages({
    total: TOTAL,
    perMessage: PER,
    gateways: GATEWAYS,
    devicesPerGateway: DEVICES_PER_GW,
    start,
    firstSeq,
  })) {
    for (const r of validateTelemetry(m.topic, m.payload, registry, Date.now()).readings) all.push(r);
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += BATCH) await store.writeBatch(all.slice(i, i + BATCH));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { readingsPerSec: all.length / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/**
 * `--stores null`: a store that keeps nothing and answers at once, so the figures are ingest's own work
 * (MQTT, parsing, validation, derivation, live feed, acks, metrics) with no store in the way. No direct run.
 */
class NullStore implements TimeSeriesStore {
  async writeBatch(): Promise<void> {}
  async query(): Promise<Series[]> {
    return [];
  }
  async latest(): Promise<StoredReading[]> {
    return [];
  }
  async writeDeadLetters(): Promise<void> {}
  async deadLetters(): Promise<DeadLetter[]> {
    return [];
  }
  async sequences(): Promise<number[]> {
    return [];
  }
  async close(): Promise<void> {}
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

interface Round {
  e2e: number;
  direct: number;
  drain: number;
  publishSeconds: number;
  ingestCpuPerReading: number;
  /** Event-loop busy time per reading (µs): ingest's main thread, GC on it included. */
  ingestMainPerReading: number;
  directCpuPerReading: number;
}

/**
 * Rounds of (direct write, end to end) on the same store server, alternating which goes first, each round
 * with readings of another day; on a shared machine the load swings between seconds, so each end-to-end
 * figure is compared with the direct figure of its own round and the median ratio is reported.
 */
async function measure(storeConfig: ((name: string) => StoreConfig) | 'null'): Promise<{ rounds: Round[]; metricsText: string }> {
  const broker = await startMosquitto('max_inflight_messages 100');
  const store = storeConfig === 'null' ? new NullStore() : await openStore(storeConfig('ingest'));
  const rawStore = args['no-direct'] || storeConfig === 'null' ? undefined : await openStore(storeConfig('raw'));
  let publishAlarm: (topic: string, event: unknown) => Promise<void> = async () => {};
  const detector = args.alarms
    ? createAlarmDetector({
        rules: loadRules(join(import.meta.dirname, '../../config/rules/default.yaml')),
        city,
        aqiLevels: loadLimits(join(import.meta.dirname, '../../config/limits')).vnAqi.levels,
        publish: (topic, event) => publishAlarm(topic, event),
      })
    : undefined;
  const ingest = await startIngest(
    {
      mqtt: { url: broker.url, clientId: 'ingest-bench' },
      limitsDir: join(import.meta.dirname, '../../config/limits'),
      batch: { maxReadings: BATCH, maxDelayMs: 200 },
      live: { mode: LIVE },
    },
    { store, city, logger: createLogger('ingest', { level: 'warn' }), observers: detector ? [detector] : [] },
  );
  publishAlarm = (topic, event) => ingest.publish(topic, event, { qos: 1 });
  const points = async () => Number((await ingest.metrics.getSingleMetric('ingest_points_total')!.get()).values[0]?.value ?? 0);
  const rounds: Round[] = [];
  /**
   * The embedded store folds committed rows into rollups and moves cold ones (these readings are days old) into
   * blocks on a timer after the writes. Left running, one phase's upkeep lands in the next phase's measurement:
   * the directly written store's is on this thread, ingest's. Each phase starts on stores that are caught up,
   * and measures the time until its readings are durable, as the goal defines it; the upkeep's own cost per
   * reading is bench/store's.
   */
  const settle = async () => {
    for (const s of [store, rawStore]) if (s && 'compact' in s) await (s as { compact(): unknown }).compact();
  };
  // Round 0 warms up (JIT, the store's first shard or pages, the publishers' connections) and is not counted:
  // the figure is the sustained rate, and without it the first round of every run came out 10–25 % lower.
  for (let round = WARMUP ? 0 : 1; round <= ROUNDS; round++) {
    const start = Date.now() - (round + 1) * 86_400_000;
    // Sequences go on from round to round (no gateway sends fewer than TOTAL in a round).
    const firstSeq = round * TOTAL;
    const endToEnd = async () => {
      const publishers = await startPublisherProcess(join(import.meta.dirname, 'publisher.ts'), {
        url: broker.url,
        total: TOTAL,
        perMessage: PER,
        gateways: GATEWAYS,
        devicesPerGateway: DEVICES_PER_GW,
        publishers: PUBLISHERS,
        start,
        firstSeq,
      } satisfies PublisherJob);
      const before = await points();
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      const publishMs = await publishers.go();
      while ((await points()) < before + TOTAL) await new Promise((r) => setTimeout(r, 20));
      const tDone = performance.now();
      const cpu = process.cpuUsage(cpu0);
      // The main thread's busy time (event loop not waiting for I/O): what a worker-thread store leaves to ingest.
      const mainMs = performance.eventLoopUtilization(elu0).active;
      return {
        seconds: (tDone - t0) / 1000,
        drain: (tDone - t0 - publishMs) / 1000,
        publishSeconds: publishMs / 1000,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        mainSeconds: mainMs / 1000,
      };
    };
    const direct = async () => (rawStore ? directRate(rawStore, start, firstSeq) : { readingsPerSec: NaN, cpuSeconds: NaN });
    let e: Awaited<ReturnType<typeof endToEnd>>;
    let d: Awaited<ReturnType<typeof direct>>;
    if (round % 2 === 0) {
      await settle();
      d = await direct();
      await settle();
      e = await endToEnd();
    } else {
      await settle();
      e = await endToEnd();
      await settle();
      d = await direct();
    }
    if (round === 0) {
      console.error(
        `warm-up: end to end ${Math.round(TOTAL / e.seconds)} readings/s, direct ${Math.round(d.readingsPerSec)} readings/s (not counted)`,
      );
      continue;
    }
    rounds.push({
      e2e: TOTAL / e.seconds,
      direct: d.readingsPerSec,
      drain: e.drain,
      publishSeconds: e.publishSeconds,
      ingestCpuPerReading: (e.cpuSeconds / TOTAL) * 1e6,
      ingestMainPerReading: (e.mainSeconds / TOTAL) * 1e6,
      directCpuPerReading: (d.cpuSeconds / TOTAL) * 1e6,
    });
    console.error(
      `round ${round}: end to end ${Math.round(TOTAL / e.seconds)} readings/s, direct ${Math.round(d.readingsPerSec)} readings/s, ratio ${(TOTAL / e.seconds / d.readingsPerSec).toFixed(2)}, ingest CPU ${((e.cpuSeconds / TOTAL) * 1e6).toFixed(2)} µs/reading (main thread ${((e.mainSeconds / TOTAL) * 1e6).toFixed(2)})`,
    );
  }
  const metricsText = await ingest.metrics.metrics();
  await ingest.close();
  await store.close();
  await rawStore?.close();
  await broker.stop();
  return { rounds, metricsText };
}

const results: Array<{ store: string; rounds: Round[] }> = [];
for (const name of args.stores!.split(',')) {
  let config: ((db: string) => StoreConfig) | 'null';
  let stop = async () => {};
  if (name === 'sqlite') {
    const dir = tempDir('bench-ingest');
    // Ingest's store on its own thread as deployed by default (--sqlite-inline: on ingest's thread); direct = the
    // store written on the calling thread, batch after batch: its raw write rate.
    config = (db) => ({ type: 'sqlite', path: join(dir, `${db}.db`), worker: db === 'ingest' && !args['sqlite-inline'] });
  } else if (name === 'influxdb') {
    const influx = await startInfluxd();
    config = (db) => ({ type: 'influxdb', api: 'v1', url: influx.url, database: db, gzip: args['influx-gzip'] });
    stop = () => influx.stop();
  } else if (name === 'victoriametrics') {
    const vm = await startVictoriaMetrics();
    // One measurement per database name, as InfluxDB gets one database each.
    config = (db) => ({ type: 'victoriametrics', url: vm.url, measurement: db.replace(/[^a-zA-Z0-9_]/g, '_') });
    stop = () => vm.stop();
  } else if (name === 'null') config = 'null';
  else throw new Error(`unknown store ${name}: sqlite, influxdb, victoriametrics or null`);
  const { rounds, metricsText } = await measure(config);
  await stop();
  const lagSum = Number(/ingest_consumer_lag_seconds_sum\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
  const lagCount = Number(/ingest_consumer_lag_seconds_count\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
  console.log(
    JSON.stringify(
      {
        store: name,
        readingsPerRound: TOTAL,
        perMessage: PER,
        rounds: rounds.map((r) => ({
          endToEndReadingsPerSec: Math.round(r.e2e),
          directReadingsPerSec: Math.round(r.direct),
          ratio: +(r.e2e / r.direct).toFixed(3),
          publishSeconds: +r.publishSeconds.toFixed(2),
          drainAfterPublishS: +r.drain.toFixed(2),
          // CPU of the bench process per reading (µs): for SQLite the whole cost, for InfluxDB the client side only.
          ingestCpuUsPerReading: +r.ingestCpuPerReading.toFixed(2),
          ingestMainThreadUsPerReading: +r.ingestMainPerReading.toFixed(2),
          directCpuUsPerReading: +r.directCpuPerReading.toFixed(2),
        })),
        lagObservations: lagCount,
        meanLagS_includingSyntheticTsOffset: +(lagSum / lagCount).toFixed(1),
      },
      null,
      2,
    ),
  );
  results.push({ store: name, rounds });
}

if (args['no-direct']) process.exit(0);
const cmd = `npx tsx bench/ingest/run.ts --readings ${TOTAL} --per-message ${PER} --stores ${args.stores} --rounds ${ROUNDS}${LIVE === 'latest' ? ' --live latest' : ''}${args['sqlite-inline'] ? ' --sqlite-inline' : ''}${args['influx-gzip'] ? ' --influx-gzip' : ''}${args.alarms ? ' --alarms' : ''}${WARMUP ? '' : ' --no-warmup'}`;
const n = (x: number) => Math.round(x).toLocaleString('en');
appendFileSync(
  join(import.meta.dirname, 'RESULTS.md'),
  [
    '',
    `## ${new Date().toISOString()} — \`${cmd}\``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}${process.env.NODE_OPTIONS ? ` (NODE_OPTIONS=${process.env.NODE_OPTIONS})` : ''} with ingest's start flags (${INGEST_NODE_FLAGS.join(' ')}), load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine: read the ratios). Publishers in a child process (${PUBLISHERS} connections, payloads built before the clock); direct = the same readings, validated outside the clock, in batches of ${BATCH}. Medians of ${ROUNDS} rounds (direct and end to end alternating)${WARMUP ? ', after an uncounted warm-up round' : ''}. Live feed: ${LIVE}. Alarm detection: ${args.alarms ? 'on (config/rules/default.yaml)' : 'off'}. SQLite under ingest: ${args['sqlite-inline'] ? 'inline' : 'on its own thread'}; written directly: inline. InfluxDB gzip: ${args['influx-gzip'] ? 'on' : 'off'}.`,
    '',
    '| store | MQTT → ingest → store (readings/s) | values/s | store written directly (readings/s) | median ratio (per round) | ingest CPU µs/reading | ingest main thread µs/reading | direct CPU µs/reading | drain after last publish (s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(({ store, rounds: r }) => {
      const e2e = median(r.map((x) => x.e2e));
      return `| ${store} | ${n(e2e)} | ${n(e2e * 4)} | ${n(median(r.map((x) => x.direct)))} | ${median(r.map((x) => x.e2e / x.direct)).toFixed(2)} (${r.map((x) => (x.e2e / x.direct).toFixed(2)).join(', ')}) | ${median(r.map((x) => x.ingestCpuPerReading)).toFixed(1)} | ${median(r.map((x) => x.ingestMainPerReading)).toFixed(1)} | ${median(r.map((x) => x.directCpuPerReading)).toFixed(1)} | ${median(r.map((x) => x.drain)).toFixed(2)} |`;
    }),
    '',
  ].join('\n'),
);
process.exit(0);
