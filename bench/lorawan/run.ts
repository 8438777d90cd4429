/**
 * Uplinks per second through the LoRaWAN connector into each store, against the same readings produced by
 * a wired gateway's outbox and forwarder, in the same run.
 *
 *   npx tsx bench/lorawan/run.ts [--uplinks 5000] [--stores sqlite,influxdb]
 *
 * Per store: mosquitto as ChirpStack's broker, our broker, ingest in-process. "LoRaWAN": N `up` events
 * (ChirpStack JSON, built before the clock with @chirpstack/chirpstack-api) published QoS 1 to mosquitto →
 * connector (codec dragino-ldds75, ledger + outbox) → our broker → ingest → store. "Wired": the same N
 * readings committed to an edge outbox and forwarded by the edge forwarder as a gateway would. The figure is
 * readings stored per second from the first publish/commit to the last reading stored; beside it the CPU time
 * this process (connector or gateway, broker, ingest and its store worker, all in-process) spent per 1,000
 * readings, which a busy machine does not distort. Results are appended to bench/lorawan/RESULTS.md.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { cityModelSchema, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker } from '@tamky/broker';
import { openStore, type StoreConfig } from '@tamky/store';
import { startIngest } from '@tamky/ingest';
import { Forwarder, MqttUplink, Outbox } from '@tamky/edge';
import { startInfluxd, startMosquitto, tempDir, waitFor } from '@tamky/test-support';
import { startConnector } from '../../lorawan/src/index';
import { uplinkEvent } from '../../lorawan/test/chirpstack-api';
import { processCpuMs } from '../support/proc-cpu';

const { values: args } = parseArgs({
  options: { uplinks: { type: 'string', default: '5000' }, stores: { type: 'string', default: 'sqlite,influxdb' } },
});
const N = Number(args.uplinks);
const DEVICES = 50;
const REPO = join(import.meta.dirname, '../..');
const APP = '6d5db27e-4ce2-4b2b-b5d7-91f069397978';
const log = createLogger('bench-lorawan', { level: 'error' });
const eui = (i: number) => `a840410001${String(i).padStart(6, '0')}`;
const city = (gw: string) =>
  cityModelSchema.parse({
    id: 'bench',
    name: 'Bench',
    lat: 15.57,
    lon: 108.47,
    wards: [{ id: 'an-my', name: 'An Mỹ', type: 'phuong', lat: 15.57, lon: 108.48, map: { x: 50, y: 50 } }],
    gateways: [{ id: gw, ward: 'an-my', name: gw }],
    devices: Array.from({ length: DEVICES }, (_, i) => ({
      id: `canal-${i}`,
      kind: 'water_level',
      name: `c${i}`,
      ward: 'an-my',
      gateway: gw,
      lat: 15.57,
      lon: 108.48,
      pollIntervalMs: 60_000,
      mountingHeightM: 5,
      lorawan: { devEui: eui(i), profile: 'dragino-ldds75' },
    })),
  });
const base = Date.now() - 6 * 3600_000;
const tsOf = (n: number) => base + n * 10;
const distanceOf = (n: number) => 1000 + (n % 2000);

async function countStored(store: TimeSeriesStore): Promise<number> {
  const s = await store.query({
    kind: 'water_level',
    fields: ['distance'],
    from: 0,
    to: Date.now(),
    devices: Array.from({ length: DEVICES }, (_, i) => `canal-${i}`),
  });
  return s.reduce((n, x) => n + x.points.length, 0);
}

async function run(kind: 'lorawan' | 'wired', storeConfig: (db: string) => StoreConfig): Promise<{ rate: number; cpuPer1000: number }> {
  const gw = `bench-${kind}`;
  const dir = tempDir(`bench-lorawan-${kind}`);
  const chirpstack = await startMosquitto();
  const broker = await startBroker(
    {
      profile: 'development',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [{ id: gw, secretHash: await hashSecret('s', { N: 1024 }) }],
        services: [{ username: 'ingest', role: 'ingest', secretHash: await hashSecret('i', { N: 1024 }) }],
      },
    },
    { logger: log },
  );
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const store = await openStore(storeConfig(`bench_${kind}_${Date.now()}`), { logger: log });
  const ingest = await startIngest(
    { mqtt: { url, username: 'ingest', password: 'i', clientId: `ingest-${kind}` }, limitsDir: join(REPO, 'config/limits') },
    { store, city: city(gw), logger: log },
  );
  const closers: Array<() => Promise<unknown>> = [() => ingest.close(), () => store.close(), () => broker.close(), () => chirpstack.stop()];
  let started: number;
  let cpuAtStart = 0;
  if (kind === 'lorawan') {
    const connector = await startConnector(
      {
        gatewayId: gw,
        mqtt: { url, username: gw, password: 's' },
        chirpstack: { url: chirpstack.url, clientId: 'bench-connector', applicationIds: [APP] },
        registry: {},
        profilesFile: join(REPO, 'config/lorawan/profiles.yaml'),
        outbox: { path: join(dir, `${gw}.db`), synchronous: 'normal' },
      },
      { city: city(gw), logger: log },
    );
    closers.unshift(() => connector.close());
    await waitFor(() => connector.subscribed(), { what: 'connector subscribed' });
    const events = Array.from({ length: N }, (_, n) => {
      const d = distanceOf(n);
      const i = n % DEVICES;
      return {
        topic: `application/${APP}/device/${eui(i)}/event/up`,
        payload: uplinkEvent({
          devEui: eui(i),
          applicationId: APP,
          deduplicationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
          time: new Date(tsOf(n)),
          devAddr: '260b0001',
          fCnt: Math.floor(n / DEVICES),
          fPort: 2,
          data: new Uint8Array([0x0c, 0xe4, d >> 8, d & 0xff, 0, 0, 0xfa, 1]),
          gateways: [{ id: '0016c001f1000001', rssi: -100, snr: 3 }],
        }),
      };
    });
    const ns = await mqtt.connectAsync(chirpstack.url, { clientId: 'bench-ns' });
    closers.unshift(() => ns.endAsync());
    started = performance.now();
    cpuAtStart = processCpuMs(process.pid);
    for (let n = 0; n < N; n += 500)
      await Promise.all(events.slice(n, n + 500).map((e) => ns.publishAsync(e.topic, e.payload, { qos: 1 })));
  } else {
    const outbox = new Outbox(
      { path: join(dir, `${gw}.db`), maxReadings: 10_000_000, maxAgeMs: 30 * 86_400_000, synchronous: 'normal', now: Date.now },
      log,
    );
    // The uplink's callbacks reach the forwarder, which is built on the uplink: a holder breaks the cycle.
    const holder: { forwarder?: Forwarder } = {};
    const uplink = new MqttUplink(
      {
        gatewayId: gw,
        mqtt: { url, username: gw, password: 's', keepaliveS: 30, connectTimeoutMs: 10_000, reconnect: { baseMs: 100, maxMs: 1000 } },
      },
      { onConnect: () => holder.forwarder?.onConnect(), onDisconnect: () => holder.forwarder?.onDisconnect(), onCommand: () => {} },
      log,
      'bench',
      Date.now,
    );
    const forwarder = (holder.forwarder = new Forwarder(
      outbox,
      uplink,
      { gatewayId: gw, batchSize: 500, maxInflight: 4, replayPerSecond: 1_000_000 },
      log,
    ));
    uplink.start();
    closers.unshift(async () => {
      forwarder.stop();
      await uplink.close();
      outbox.close();
    });
    await waitFor(() => uplink.connected, { what: 'gateway connected' });
    const readings = Array.from({ length: N }, (_, n) => ({
      device: `canal-${n % DEVICES}`,
      ts: tsOf(n),
      vals: JSON.stringify({ distance: { v: distanceOf(n) / 1000, u: 'm' }, level: { v: 5 - distanceOf(n) / 1000, u: 'm' } }),
    }));
    started = performance.now();
    cpuAtStart = processCpuMs(process.pid);
    // A wired gateway commits what one poll cycle read: here one reading per commit, like one uplink.
    for (const r of readings) {
      outbox.addReadings([r]);
      forwarder.kick();
      if (outbox.depth() > 5000) await new Promise((res) => setImmediate(res));
    }
  }
  await waitFor(async () => (await countStored(store)) >= N, { timeoutMs: 600_000, intervalMs: 100, what: `${N} stored (${kind})` });
  const rate = N / ((performance.now() - started) / 1000);
  const cpuPer1000 = ((processCpuMs(process.pid) - cpuAtStart) / N) * 1000;
  for (const c of closers) await c().catch(() => undefined);
  return { rate, cpuPer1000 };
}

const lines: string[] = [];
for (const s of args.stores.split(',')) {
  let config: (db: string) => StoreConfig;
  let stop = async () => {};
  if (s === 'sqlite') {
    const dir = tempDir('bench-lorawan-store');
    mkdirSync(dir, { recursive: true });
    config = (db) => ({ type: 'sqlite', path: join(dir, `${db}.db`) }) as StoreConfig;
  } else {
    const influx = await startInfluxd();
    config = (db) => ({ type: 'influxdb', api: 'v1', url: influx.url, database: db }) as StoreConfig;
    stop = () => influx.stop();
  }
  const wired = await run('wired', config);
  const lorawan = await run('lorawan', config);
  await stop();
  lines.push(
    `| ${s} | ${N} | ${lorawan.rate.toFixed(0)} | ${lorawan.cpuPer1000.toFixed(0)} | ${wired.rate.toFixed(0)} | ${wired.cpuPer1000.toFixed(0)} | ${(lorawan.rate / wired.rate).toFixed(2)} | ${(lorawan.cpuPer1000 / wired.cpuPer1000).toFixed(1)} |`,
  );
  process.stdout.write(`${lines.at(-1)}\n`);
}
const report = [
  '',
  `## ${new Date().toISOString()} — \`npx tsx bench/lorawan/run.ts --uplinks ${N} --stores ${args.stores}\``,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} (shared machine: read the ratio).`,
  '',
  '| store | readings | LoRaWAN uplinks/s (ChirpStack → connector → ingest → store) | LoRaWAN CPU ms / 1,000 | wired gateway readings/s (outbox → forwarder → ingest → store) | wired CPU ms / 1,000 | wall ratio | CPU ratio |',
  '|---|---|---|---|---|---|---|---|',
  ...lines,
  '',
].join('\n');
appendFileSync(join(import.meta.dirname, 'RESULTS.md'), report);
process.stdout.write(report);
process.exit(0);
