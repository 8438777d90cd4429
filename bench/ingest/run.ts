/**
 * Sustained MQTT → ingest → store rate against the store's raw write rate in the same run.
 *
 *   npx tsx bench/ingest/run.ts [--readings 200000] [--per-message 500]
 *
 * Mosquitto (real broker), ingest in-process with validation, derived values and the live feed on, the
 * SQLite store (synchronous=NORMAL). Publishers send telemetry like gateways (QoS 1, 4 values per reading).
 * Reported: readings/s and values/s end to end, the ratio to measureRawWriteRate on a fresh store, and consumer
 * lag (now − reading ts at durability, readings timestamped at publish).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { cityModelSchema, topics } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { openStore } from '@tamky/store';
import { startMosquitto, tempDir } from '@tamky/test-support';
import { startIngest } from '../../ingest/src/index';
import { measureRawWriteRate } from '../store/raw-write';

const { values: args } = parseArgs({ options: { readings: { type: 'string', default: '200000' }, 'per-message': { type: 'string', default: '500' } } });
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

const broker = await startMosquitto('max_inflight_messages 100');
const dir = tempDir('bench-ingest');
const store = await openStore({ type: 'sqlite', path: join(dir, 'ingest.db') });
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

const rawStore = await openStore({ type: 'sqlite', path: join(dir, 'raw.db') });
const raw = await measureRawWriteRate(rawStore, { readings: TOTAL, batchSize: 5000, fieldsPerReading: 4, devices: GATEWAYS * DEVICES_PER_GW });
await rawStore.close();
await broker.stop();

const lagSum = Number(/ingest_consumer_lag_seconds_sum\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
const lagCount = Number(/ingest_consumer_lag_seconds_count\{[^}]*\} ([\d.e+-]+)/.exec(metricsText)?.[1] ?? NaN);
const e2e = TOTAL / seconds;
console.log(JSON.stringify({
  readings: TOTAL,
  perMessage: PER,
  endToEnd: { seconds: +seconds.toFixed(2), readingsPerSec: Math.round(e2e), valuesPerSec: Math.round(e2e * 4), publishSeconds: +((tPublished - t0) / 1000).toFixed(2) },
  rawSqlite: { readingsPerSec: Math.round(raw.readingsPerSec), valuesPerSec: Math.round(raw.valuesPerSec) },
  ratio: +(e2e / raw.readingsPerSec).toFixed(3),
  // Consumer lag as the service sees it: time from the last publish acked by the broker to the last reading durable.
  drainAfterPublishS: +((tDone - tPublished) / 1000).toFixed(2),
  lagObservations: lagCount,
  meanLagS_includingSyntheticTsOffset: +(lagSum / lagCount).toFixed(1),
}, null, 2));
process.exit(0);
