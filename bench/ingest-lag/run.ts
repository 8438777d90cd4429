/**
 * Consumer lag under sustained load: gateways publish at a steady rate (not a burst), each reading stamped
 * when it is built; ingest reports every reading when it is durable (an observer, called after the batch is
 * committed), and lag = that moment − the reading's stamp: broker transit, batching, the write and the ack
 * path together. Rates are offered in turn, from the city's own (693 readings/s) up to near the burst
 * capacity that bench/ingest measures; a rate ingest cannot sustain shows as a growing lag and a lower
 * stored rate.
 *
 *   npx tsx bench/ingest-lag/run.ts [--rates 693,5000,20000,40000] [--seconds 15] [--stores sqlite,influxdb]
 *     [--coalesce-ms N]   (ingest's derive.coalesceMs; default: ingest's default. 0 recomputes per batch, for comparison)
 *
 * Mosquitto (max_inflight_messages 100), ingest in-process as deployed (SQLite on its own thread; InfluxDB
 * 1.6.7 via /write), 52 gateways × 100 devices, one reading per device per message (4 values each).
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { StoredReading } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { startInfluxd, startMosquitto, tempDir } from '@tamky/test-support';
import { startIngest } from '../../ingest/src/index';
import { DEVICES_PER_GW, GATEWAYS, lagCity, type PacedJob } from './paced-publisher';
import { startPublisherProcess } from '../support/publisher-process';
import { processCpuMs } from '../support/proc-cpu';
import { INGEST_NODE_FLAGS, relaunchWithIngestNodeFlags } from '../../ingest/src/node-flags';

// Ingest runs in this process: started the way its start scripts start it (node-flags.ts).
await relaunchWithIngestNodeFlags();

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '693,5000,20000,40000' },
    seconds: { type: 'string', default: '15' },
    stores: { type: 'string', default: 'sqlite,influxdb' },
    'coalesce-ms': { type: 'string' },
  },
});
const RATES = args.rates!.split(',').map(Number);
const SECONDS = Number(args.seconds);
const COALESCE_MS = args['coalesce-ms'] === undefined ? undefined : Number(args['coalesce-ms']);

const city = lagCity();

interface Row {
  store: string;
  offered: number;
  stored: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  cpuPerReading: number;
  mainBusy: number;
  /** CPU µs per stored reading of the processes beside ingest on the same cores: the broker, the store's server (InfluxDB), the publishers. */
  brokerCpu: number;
  serverCpu: number | undefined;
  publisherCpu: number;
}

const quantile = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** One rate on a fresh broker, store and ingest: one rate's backlog must not become the next one's lag. */
async function measure(storeName: string, storeConfig: StoreConfig, rate: number, serverPid?: number): Promise<Row> {
  const broker = await startMosquitto('max_inflight_messages 100');
  const store = await openStore(storeConfig);
  const expected = Math.ceil((rate * SECONDS) / DEVICES_PER_GW) * DEVICES_PER_GW;
  const lags = new Float64Array(expected);
  let n = 0;
  let lastDurable = 0;
  const ingest = await startIngest(
    {
      mqtt: { url: broker.url, clientId: `ingest-lag-${rate}` },
      limitsDir: join(import.meta.dirname, '../../config/limits'),
      ...(COALESCE_MS === undefined ? {} : { derive: { coalesceMs: COALESCE_MS } }),
    },
    {
      store,
      city,
      logger: createLogger('ingest', { level: 'warn' }),
      observers: [
        {
          onReadings(readings: StoredReading[]) {
            const now = Date.now();
            for (const r of readings) if (r.seq >= 0 && n < lags.length) lags[n++] = now - r.ts;
            lastDurable = now;
          },
        },
      ],
    },
  );
  const publisher = await startPublisherProcess(join(import.meta.dirname, 'paced-publisher.ts'), {
    url: broker.url,
    rate,
    seconds: SECONDS,
    gateways: GATEWAYS,
    devicesPerGateway: DEVICES_PER_GW,
    connections: 4,
  } satisfies PacedJob);
  const cpu0 = process.cpuUsage();
  const pids = { broker: broker.child.pid!, server: serverPid };
  const others0 = othersCpuMs(pids);
  const elu0 = performance.eventLoopUtilization();
  const t0 = Date.now();
  await publisher.go();
  while (n < expected) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage(cpu0);
  const others1 = othersCpuMs(pids);
  const perReading = (ms1: number, ms0: number) => ((ms1 - ms0) * 1000) / n;
  const elu = performance.eventLoopUtilization(elu0);
  const sorted = lags.slice(0, n).sort();
  const row: Row = {
    store: storeName,
    offered: rate,
    stored: n / ((lastDurable - t0) / 1000),
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1]!,
    cpuPerReading: (cpu.user + cpu.system) / n,
    mainBusy: elu.utilization,
    brokerCpu: perReading(others1.broker, others0.broker),
    serverCpu: others1.server === undefined ? undefined : perReading(others1.server, others0.server!),
    publisherCpu: ((publisher.cpuMs() ?? NaN) * 1000) / n,
  };
  console.error(`${storeName} ${rate}/s: stored ${Math.round(row.stored)}/s, lag p50 ${row.p50} ms, p99 ${row.p99} ms, max ${row.max} ms`);
  await ingest.close();
  await store.close();
  await broker.stop();
  return row;
}

/** CPU ms so far of the broker and the store's server (the publishers report their own). */
function othersCpuMs(pids: { broker: number; server: number | undefined }) {
  return { broker: processCpuMs(pids.broker), server: pids.server === undefined ? undefined : processCpuMs(pids.server) };
}

const all: Row[] = [];
for (const name of args.stores!.split(',')) {
  if (name === 'sqlite') {
    const dir = tempDir('bench-ingest-lag');
    for (const rate of RATES) all.push(await measure(name, { type: 'sqlite', path: join(dir, `lag-${rate}.db`) }, rate));
  } else if (name === 'influxdb') {
    const influx = await startInfluxd();
    try {
      for (const rate of RATES)
        all.push(await measure(name, { type: 'influxdb', api: 'v1', url: influx.url, database: `lag${rate}` }, rate, influx.child.pid));
    } finally {
      await influx.stop();
    }
  } else throw new Error(`unknown store ${name}: sqlite or influxdb`);
}

const cmd = `npx tsx bench/ingest-lag/run.ts --rates ${args.rates} --seconds ${SECONDS} --stores ${args.stores}${COALESCE_MS === undefined ? '' : ` --coalesce-ms ${COALESCE_MS}`}`;
const n = (x: number) => Math.round(x).toLocaleString('en');
/** Every process's CPU per reading and their sum: against the machine's cores, the rate it could carry at best. */
const cpuShares = (r: Row) =>
  [r.brokerCpu, r.serverCpu, r.publisherCpu, r.cpuPerReading + r.brokerCpu + (r.serverCpu ?? 0) + r.publisherCpu]
    .map((x) => (x === undefined ? '—' : x.toFixed(1)))
    .join(' / ');
const table = [
  '| store | offered readings/s | stored readings/s | lag p50 (ms) | p95 | p99 | max | ingest CPU µs/reading | main thread busy | CPU µs/reading: broker / InfluxDB server / publishers / all |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...all.map(
    (r) =>
      `| ${r.store} | ${n(r.offered)} | ${n(r.stored)} | ${n(r.p50)} | ${n(r.p95)} | ${n(r.p99)} | ${n(r.max)} | ${r.cpuPerReading.toFixed(1)} | ${(r.mainBusy * 100).toFixed(0)} % | ${cpuShares(r)} |`,
  ),
].join('\n');
console.log(table);
appendFileSync(
  join(import.meta.dirname, 'RESULTS.md'),
  `\n## ${new Date().toISOString()} — \`${cmd}\`\nMachine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}${process.env.NODE_OPTIONS ? ` (NODE_OPTIONS=${process.env.NODE_OPTIONS})` : ''} with ingest's start flags (${INGEST_NODE_FLAGS.join(' ')}), load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine). ${GATEWAYS} gateways × ${DEVICES_PER_GW} devices, ${SECONDS} s per rate, ingest defaults (batching as ingest/src/config.ts; derived values recomputed at most every ${COALESCE_MS ?? 5000} ms per device and hour).\n\n${table}\n`,
);
