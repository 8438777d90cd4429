/**
 * Sustained MQTT → ingest → store rate against the store's raw write rate in the same run.
 *
 *   npx tsx bench/ingest/run.ts [--readings 200000] [--per-message 500] [--stores sqlite,influxdb]
 *
 * Mosquitto (real broker), ingest in-process with validation, derived values and the live feed on, into
 * the SQLite store (synchronous=NORMAL) and into InfluxDB 1.6.7 (Debian's, /write), each compared with
 * the same store written directly. Results are appended to bench/ingest/RESULTS.md. Publishers send telemetry like gateways (QoS 1, 4 values per reading).
 * Reported: readings/s and values/s end to end, the ratio to measureRawWriteRate on a fresh store, and consumer
 * lag (now − reading ts at durability, readings timestamped at publish).
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fork } from 'node:child_process';
import { cityModelSchema, type StoredReading, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { startInfluxd, startMosquitto, tempDir } from '@tamky/test-support';
import { buildRegistry, startIngest, validateTelemetry } from '../../ingest/src/index';
import { benchMessages, type PublisherJob } from './publisher';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '200000' },
    'per-message': { type: 'string', default: '500' },
    stores: { type: 'string', default: 'sqlite,influxdb' },
    publishers: { type: 'string', default: '4' },
    /** Skip the direct-write comparison (for profiling the end-to-end path alone). */
    'no-direct': { type: 'boolean', default: false },
  },
});
const TOTAL = Number(args.readings);
const PER = Number(args['per-message']);
const PUBLISHERS = Number(args.publishers);
const GATEWAYS = 20;
const DEVICES_PER_GW = 10;
const BATCH = 5000;

const city = cityModelSchema.parse({
  id: 'bench', name: 'Bench', lat: 15.57, lon: 108.47,
  wards: [{ id: 'w1', name: 'W1', type: 'phuong', lat: 15.57, lon: 108.47, map: { x: 1, y: 1 } }],
  gateways: Array.from({ length: GATEWAYS }, (_, g) => ({ id: `gw-${g}`, ward: 'w1', name: `gw-${g}` })),
  devices: Array.from({ length: GATEWAYS * DEVICES_PER_GW }, (_, i) => ({
    id: `air-${i}`, kind: 'air_station', name: `air-${i}`, ward: 'w1', gateway: `gw-${i % GATEWAYS}`, lat: 15.57, lon: 108.47,
  })),
});

/** Starts the publishers' child process and waits until it has connected and built its payloads. */
async function startPublishers(job: PublisherJob): Promise<{ go(): Promise<number> }> {
  const child = fork(join(import.meta.dirname, 'publisher.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`publisher process exited (${code})`)));
    });
  const ready = next();
  child.send(job);
  await ready;
  return {
    async go() {
      const done = next();
      child.send({ go: true });
      return (await done).published as number;
    },
  };
}

/**
 * The store written directly with what ingest writes for the same messages: the same readings (validated
 * outside the clock), the same batches of BATCH readings awaited one after the other.
 */
async function directRate(store: TimeSeriesStore, start: number): Promise<{ readingsPerSec: number; cpuSeconds: number }> {
  const registry = buildRegistry(city);
  const all: StoredReading[] = [];
  for (const m of benchMessages({ total: TOTAL, perMessage: PER, gateways: GATEWAYS, devicesPerGateway: DEVICES_PER_GW, start })) {
    for (const r of validateTelemetry(m.topic, m.payload, registry, Date.now()).readings) all.push(r);
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += BATCH) await store.writeBatch(all.slice(i, i + BATCH));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { readingsPerSec: all.length / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function measure(storeConfig: (name: string) => StoreConfig) {
const broker = await startMosquitto('max_inflight_messages 100');
const store = await openStore(storeConfig('ingest'));
const ingest = await startIngest(
  { mqtt: { url: broker.url, clientId: 'ingest-bench' }, limitsDir: join(import.meta.dirname, '../../config/limits'), batch: { maxReadings: BATCH, maxDelayMs: 200 } },
  { store, city, logger: createLogger('ingest', { level: 'warn' }) },
);
const points = async () => Number((await ingest.metrics.getSingleMetric('ingest_points_total')!.get()).values[0]?.value ?? 0);

const start = Date.now() - 3_600_000;
const publishers = await startPublishers({ url: broker.url, total: TOTAL, perMessage: PER, gateways: GATEWAYS, devicesPerGateway: DEVICES_PER_GW, publishers: PUBLISHERS, start });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const publishMs = await publishers.go();
const tPublished = t0 + publishMs;
while ((await points()) < TOTAL) await new Promise((r) => setTimeout(r, 20));
const tDone = performance.now();
const cpu = process.cpuUsage(cpu0);
const seconds = (tDone - t0) / 1000;
const metricsText = await ingest.metrics.metrics();
await ingest.close();
await store.close();

let raw = { readingsPerSec: NaN, cpuSeconds: NaN };
if (!args['no-direct']) {
  const rawStore = await openStore(storeConfig('raw'));
  raw = await directRate(rawStore, start);
  await rawStore.close();
}
await broker.stop();
return { seconds, tPublished, tDone, t0, metricsText, raw, ingestCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const results: Array<{ store: string; e2e: number; raw: number; drain: number; ingestCpuPerReading: number; directCpuPerReading: number }> = [];
for (const name of args.stores!.split(',')) {
  let config: (db: string) => StoreConfig;
  let stop = async () => {};
  if (name === 'sqlite') {
    const dir = tempDir('bench-ingest');
    config = (db) => ({ type: 'sqlite', path: join(dir, `${db}.db`) });
  } else if (name === 'influxdb') {
    const influx = await startInfluxd();
    config = (db) => ({ type: 'influxdb', api: 'v1', url: influx.url, database: db });
    stop = () => influx.stop();
  } else throw new Error(`unknown store ${name}: sqlite or influxdb`);
  const { seconds, tPublished, tDone, t0, metricsText, raw, ingestCpuSeconds } = await measure(config);
  await stop();
  const lagSum = Number(/ingest_consumer_lag_seconds_sum\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
  const lagCount = Number(/ingest_consumer_lag_seconds_count\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
  const e2e = TOTAL / seconds;
  const result = {
    store: name,
    e2e,
    raw: raw.readingsPerSec,
    drain: (tDone - tPublished) / 1000,
    ingestCpuPerReading: (ingestCpuSeconds / TOTAL) * 1e6,
    directCpuPerReading: (raw.cpuSeconds / TOTAL) * 1e6,
  };
  console.log(JSON.stringify({
    store: name,
    readings: TOTAL,
    perMessage: PER,
    endToEnd: { seconds: +seconds.toFixed(2), readingsPerSec: Math.round(e2e), valuesPerSec: Math.round(e2e * 4), publishSeconds: +((tPublished - t0) / 1000).toFixed(2) },
    direct: { readingsPerSec: Math.round(raw.readingsPerSec), valuesPerSec: Math.round(raw.readingsPerSec * 4) },
    ratio: +(e2e / raw.readingsPerSec).toFixed(3),
    // CPU of the ingest process per reading (µs): for SQLite the whole cost, for InfluxDB the client side only.
    ingestCpuUsPerReading: +result.ingestCpuPerReading.toFixed(2),
    directCpuUsPerReading: +result.directCpuPerReading.toFixed(2),
    // Consumer lag as the service sees it: time from the last publish acked by the broker to the last reading durable.
    drainAfterPublishS: +result.drain.toFixed(2),
    lagObservations: lagCount,
    meanLagS_includingSyntheticTsOffset: +(lagSum / lagCount).toFixed(1),
  }, null, 2));
  results.push(result);
}

if (args['no-direct']) process.exit(0);
const cmd = `npx tsx bench/ingest/run.ts --readings ${TOTAL} --per-message ${PER} --stores ${args.stores}`;
const n = (x: number) => Math.round(x).toLocaleString('en');
appendFileSync(
  join(import.meta.dirname, 'RESULTS.md'),
  [
    '',
    `## ${new Date().toISOString()} — \`${cmd}\``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine: read the ratios). Publishers in a child process (${PUBLISHERS} connections, payloads built before the clock); direct = the same readings in batches of ${BATCH}.`,
    '',
    '| store | MQTT → ingest → store (readings/s) | values/s | store written directly (readings/s) | ratio | ingest CPU µs/reading | direct CPU µs/reading | drain after last publish (s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.store} | ${n(r.e2e)} | ${n(r.e2e * 4)} | ${n(r.raw)} | ${(r.e2e / r.raw).toFixed(2)} | ${r.ingestCpuPerReading.toFixed(1)} | ${r.directCpuPerReading.toFixed(1)} | ${r.drain.toFixed(2)} |`),
    '',
  ].join('\n'),
);
process.exit(0);
