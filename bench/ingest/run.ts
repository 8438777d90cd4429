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
import mqtt from 'mqtt';
import { cityModelSchema, topics } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { startInfluxd, startMosquitto, tempDir } from '@tamky/test-support';
import { startIngest } from '../../ingest/src/index';
import { measureRawWriteRate } from '../store/raw-write';

const { values: args } = parseArgs({
  options: { readings: { type: 'string', default: '200000' }, 'per-message': { type: 'string', default: '500' }, stores: { type: 'string', default: 'sqlite,influxdb' } },
});
const TOTAL = Number(args.readings);
const PER = Number(args['per-message']);
const GATEWAYS = 20;
const DEVICES_PER_GW = 10;

const city = cityModelSchema.parse({
  id: 'bench', name: 'Bench', lat: 15.57, lon: 108.47,
  wards: [{ id: 'w1', name: 'W1', type: 'phuong', lat: 15.57, lon: 108.47, map: { x: 1, y: 1 } }],
  gateways: Array.from({ length: GATEWAYS }, (_, g) => ({ id: `gw-${g}`, ward: 'w1', name: `gw-${g}` })),
  devices: Array.from({ length: GATEWAYS * DEVICES_PER_GW }, (_, i) => ({
    id: `air-${i}`, kind: 'air_station', name: `air-${i}`, ward: 'w1', gateway: `gw-${i % GATEWAYS}`, lat: 15.57, lon: 108.47,
  })),
});

async function measure(storeConfig: (name: string) => StoreConfig) {
const broker = await startMosquitto('max_inflight_messages 100');
const store = await openStore(storeConfig('ingest'));
const ingest = await startIngest(
  { mqtt: { url: broker.url, clientId: 'ingest-bench' }, limitsDir: join(import.meta.dirname, '../../config/limits'), batch: { maxReadings: 5000, maxDelayMs: 200 } },
  { store, city, logger: createLogger('ingest', { level: 'warn' }) },
);
const points = async () => Number((await ingest.metrics.getSingleMetric('ingest_points_total')!.get()).values[0]?.value ?? 0);

// Messages built up front: one gateway's devices, readings 1 s apart per device, seqs per gateway.
const seqs = new Array<number>(GATEWAYS).fill(0);
const start = Date.now() - 3_600_000;
const messages: Array<{ topic: string; payload: string }> = [];
for (let m = 0; m < TOTAL / PER; m++) {
  const g = m % GATEWAYS;
  const readings = Array.from({ length: PER }, () => {
    const seq = seqs[g]!++;
    const device = `air-${g + GATEWAYS * (seq % DEVICES_PER_GW)}`;
    return { device, ts: start + Math.floor(seq / DEVICES_PER_GW) * 1000, seq, values: { pm25: { v: 20 + (seq % 7), u: 'ug/m3' }, pm10: { v: 40, u: 'ug/m3' }, temperature: { v: 29.5, u: 'degC' }, humidity: { v: 80, u: 'pct' } } };
  });
  messages.push({ topic: topics.telemetry(`gw-${g}`), payload: JSON.stringify({ v: 1, gateway: `gw-${g}`, readings }) });
}

const pubs = await Promise.all(Array.from({ length: 4 }, (_, i) => mqtt.connectAsync(broker.url, { clientId: `bench-pub-${i}` })));
const t0 = performance.now();
await Promise.all(pubs.map(async (pub, i) => {
  for (let m = i; m < messages.length; m += pubs.length) await pub.publishAsync(messages[m]!.topic, messages[m]!.payload, { qos: 1 });
}));
const tPublished = performance.now();
while ((await points()) < TOTAL) await new Promise((r) => setTimeout(r, 20));
const tDone = performance.now();
const seconds = (tDone - t0) / 1000;
const metricsText = await ingest.metrics.metrics();
await Promise.all(pubs.map((p) => p.endAsync()));
await ingest.close();
await store.close();

const rawStore = await openStore(storeConfig('raw'));
const raw = await measureRawWriteRate(rawStore, { readings: TOTAL, batchSize: 5000, fieldsPerReading: 4, devices: GATEWAYS * DEVICES_PER_GW });
await rawStore.close();
await broker.stop();
return { seconds, tPublished, tDone, t0, metricsText, raw };
}

const results: Array<{ store: string; e2e: number; raw: number; drain: number }> = [];
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
  const { seconds, tPublished, tDone, t0, metricsText, raw } = await measure(config);
  await stop();
  const lagSum = Number(/ingest_consumer_lag_seconds_sum\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
  const lagCount = Number(/ingest_consumer_lag_seconds_count\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
  const e2e = TOTAL / seconds;
  console.log(JSON.stringify({
  store: name,
  readings: TOTAL,
  perMessage: PER,
  endToEnd: { seconds: +seconds.toFixed(2), readingsPerSec: Math.round(e2e), valuesPerSec: Math.round(e2e * 4), publishSeconds: +((tPublished - t0) / 1000).toFixed(2) },
  rawStore: { readingsPerSec: Math.round(raw.readingsPerSec), valuesPerSec: Math.round(raw.valuesPerSec) },
  ratio: +(e2e / raw.readingsPerSec).toFixed(3),
  // Consumer lag as the service sees it: time from the last publish acked by the broker to the last reading durable.
  drainAfterPublishS: +((tDone - tPublished) / 1000).toFixed(2),
  lagObservations: lagCount,
  meanLagS_includingSyntheticTsOffset: +(lagSum / lagCount).toFixed(1),
}, null, 2));
  results.push({ store: name, e2e, raw: raw.readingsPerSec, drain: (tDone - tPublished) / 1000 });
}


const cmd = `npx tsx bench/ingest/run.ts --readings ${TOTAL} --per-message ${PER} --stores ${args.stores}`;
appendFileSync(
  join(import.meta.dirname, 'RESULTS.md'),
  [
    '',
    `## ${new Date().toISOString()} — \`${cmd}\``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine: read the ratios).`,
    '',
    '| store | MQTT → ingest → store (readings/s) | values/s | store written directly (readings/s) | ratio | drain after last publish (s) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.store} | ${Math.round(r.e2e).toLocaleString('en')} | ${Math.round(r.e2e * 4).toLocaleString('en')} | ${Math.round(r.raw).toLocaleString('en')} | ${(r.e2e / r.raw).toFixed(2)} | ${r.drain.toFixed(2)} |`),
    '',
  ].join('\n'),
);
process.exit(0);
