/**
 * History API latency for the dashboard's heaviest chart query: 24 h in 1-minute windows for 50 series
 * (noise_meter laeq, mean), per store (SQLite; Debian InfluxDB 1.6.7). The peer, in the same run and on the
 * same data, is the store's own query() called in-process: ratio = API / store is what the HTTP layer
 * (session check, query parsing, JSON encoding of ~72k points, the socket) adds on top of the store. A store with
 * queryColumns (SQLite) is also timed through it: that is what the API asks it for.
 *
 *   npx tsx bench/dashboard/history-latency.ts [--runs 30] [--devices 50] [--stores sqlite,influxdb,victoriametrics]
 *
 * Appends a dated section (command, machine) to bench/dashboard/RESULTS.md. Not a test: nothing here fails on
 * a number; the machine is shared, so read the ratios and the CPU ms per query (this process, every thread), not
 * the wall times.
 */
import { appendFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cityModelSchema, type RangeQuery, type StoredReading, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger, loadConfigFile } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { hashPassword, startDashboard } from '@tamky/dashboard-server';
import { startInfluxd, startMosquitto, startVictoriaMetrics, tempDir } from '@tamky/test-support';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    devices: { type: 'string', default: '50' },
    stores: { type: 'string', default: 'sqlite,influxdb,victoriametrics' },
  },
});
const RUNS = Number(args.runs);
const DEVICES = Number(args.devices);
const MINUTE = 60_000;
const DAY = 86_400_000;
const REPO = join(import.meta.dirname, '..', '..');
const PASSWORD = 'bench-viewer-password';
const log = createLogger('bench-history', { level: 'warn' });

const city = loadConfigFile(join(REPO, 'config/tam-ky/city.yaml'), cityModelSchema);
const to = Math.floor(Date.now() / MINUTE) * MINUTE;
const from = to - DAY;
const devices = Array.from({ length: DEVICES }, (_, i) => {
  const ward = city.wards[i % city.wards.length]!.id;
  return { id: `bench-noise-${String(i + 1).padStart(2, '0')}`, ward, gateway: `gw-${ward}` };
});
const query: RangeQuery = { kind: 'noise_meter', fields: ['laeq'], from, to, windowMs: MINUTE, aggregate: 'mean' };
const path = `/api/history?kind=noise_meter&fields=laeq&from=${from}&to=${to}&windowMs=${MINUTE}&aggregate=mean`;

/** 24 h of one reading per minute per device: a daily LAeq curve plus a little noise. */
async function seed(store: TimeSeriesStore): Promise<number> {
  let batch: StoredReading[] = [];
  let written = 0;
  for (let ts = from; ts < to; ts += MINUTE) {
    const hour = (ts / 3_600_000 + 7) % 24; // local time, Asia/Ho_Chi_Minh
    const base = 55 + 12 * Math.sin(((hour - 6) / 24) * 2 * Math.PI);
    for (const [i, d] of devices.entries()) {
      const seq = (ts - from) / MINUTE;
      batch.push({
        kind: 'noise_meter',
        device: d.id,
        gateway: d.gateway,
        ward: d.ward,
        ts,
        seq,
        values: { laeq: +(base + (i % 7) + Math.random() * 3).toFixed(1), lmax: +(base + 15).toFixed(1) },
      });
    }
    if (batch.length >= 5000) {
      await store.writeBatch(batch);
      written += batch.length;
      batch = [];
    }
  }
  if (batch.length) await store.writeBatch(batch);
  return written + batch.length;
}

interface Stats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
const stats = (ms: number[]): Stats => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1]! };
};

interface Result {
  store: string;
  seeded: number;
  seedS: number;
  points: number;
  series: number;
  bytes: number;
  gzipBytes: number;
  contentEncoding: string;
  api: Stats;
  direct: Stats;
  /** JSON.stringify of the store's answer alone: most of what the API adds. */
  encode: Stats;
  /** CPU time of this process (every thread: server, store thread, the client's fetch and gunzip) per API query, ms. */
  apiCpuMs: number;
  /** CPU time per store.query() alone, ms. */
  directCpuMs: number;
  /** store.queryColumns() (what the API asks a store that has it), wall and CPU ms per call. */
  columns?: Stats;
  columnsCpuMs?: number;
}

/** CPU ms (user + system, all threads of this process) since `from`. */
const cpuMsSince = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
};

async function measure(name: string, config: StoreConfig, mqttUrl: string): Promise<Result> {
  const store = await openStore(config, { logger: log });
  const t0 = performance.now();
  const seeded = await seed(store);
  const seedS = (performance.now() - t0) / 1000;
  const dir = tempDir('bench-history');
  const dashboard = await startDashboard(
    {
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: mqttUrl, clientId: `bench-history-${name}` },
      stateDb: join(dir, 'state.db'),
      users: [{ username: 'viewer', displayName: 'viewer', role: 'viewer', passwordHash: await hashPassword(PASSWORD) }],
      limitsDir: join(REPO, 'config/limits'),
    },
    { store, city, logger: log },
  );
  try {
    const login = await fetch(`${dashboard.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'viewer', password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    let contentEncoding = 'none';
    const viaApi = async () => {
      const res = await fetch(`${dashboard.url}${path}`, { headers: { cookie, 'accept-encoding': 'gzip, deflate, br' } });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 300)}`);
      contentEncoding = res.headers.get('content-encoding') ?? 'none';
      return text;
    };

    // The answer must be the whole chart, or the timing means nothing.
    const body = JSON.parse(await viaApi()) as { series: Array<{ points: unknown[] }> };
    const points = body.series.reduce((n, s) => n + s.points.length, 0);
    if (body.series.length !== DEVICES) throw new Error(`${name}: expected ${DEVICES} series, got ${body.series.length}`);
    const text = await viaApi();
    const bytes = Buffer.byteLength(text);
    const gzipBytes = gzipSync(text).length;
    for (let i = 0; i < 2; i++) await store.query(query); // warm both paths alike

    // Interleaved, so both see the same machine load over the run.
    const api: number[] = [];
    const direct: number[] = [];
    const encode: number[] = [];
    const columns: number[] = [];
    let apiCpuMs = 0;
    let directCpuMs = 0;
    let columnsCpuMs = 0;
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      let cpu = process.cpuUsage();
      await viaApi();
      api.push(performance.now() - t);
      apiCpuMs += cpuMsSince(cpu);
      t = performance.now();
      cpu = process.cpuUsage();
      const series = await store.query(query);
      direct.push(performance.now() - t);
      directCpuMs += cpuMsSince(cpu);
      t = performance.now();
      JSON.stringify({ series });
      encode.push(performance.now() - t);
      if (series.length !== DEVICES) throw new Error(`${name}: store.query returned ${series.length} series`);
      if (store.queryColumns) {
        t = performance.now();
        cpu = process.cpuUsage();
        const cols = await store.queryColumns(query);
        columns.push(performance.now() - t);
        columnsCpuMs += cpuMsSince(cpu);
        if (cols.length !== DEVICES) throw new Error(`${name}: store.queryColumns returned ${cols.length} series`);
      }
    }
    return {
      store: name,
      seeded,
      seedS,
      points,
      series: body.series.length,
      bytes,
      gzipBytes,
      contentEncoding,
      api: stats(api),
      direct: stats(direct),
      encode: stats(encode),
      apiCpuMs: apiCpuMs / RUNS,
      directCpuMs: directCpuMs / RUNS,
      ...(columns.length ? { columns: stats(columns), columnsCpuMs: columnsCpuMs / RUNS } : {}),
    };
  } finally {
    await dashboard.close();
    await store.close();
  }
}

const broker = await startMosquitto();
const results: Result[] = [];
try {
  for (const name of args.stores!.split(',')) {
    if (name === 'sqlite') {
      results.push(await measure(name, { type: 'sqlite', path: join(tempDir('bench-history-sqlite'), 'readings.db') }, broker.url));
    } else if (name === 'influxdb') {
      const influx = await startInfluxd();
      try {
        results.push(await measure(name, { type: 'influxdb', api: 'v1', url: influx.url, database: 'bench_history' }, broker.url));
      } finally {
        await influx.stop();
      }
    } else if (name === 'victoriametrics') {
      const vm = await startVictoriaMetrics();
      try {
        results.push(await measure(name, { type: 'victoriametrics', url: vm.url, measurement: 'bench_history' }, broker.url));
      } finally {
        await vm.stop();
      }
    } else throw new Error(`unknown store ${name}: sqlite, influxdb or victoriametrics`);
    console.log(JSON.stringify(results[results.length - 1]));
  }
} finally {
  await broker.stop();
}

const ms = (x: number) => x.toFixed(0);
const cmd = `npx tsx bench/dashboard/history-latency.ts --runs ${RUNS} --devices ${DEVICES} --stores ${args.stores}`;
const section = [
  '',
  `## ${new Date().toISOString()} — \`${cmd}\``,
  `Machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine: read the ratios).`,
  `Query: \`GET ${path.replace(/from=\d+&to=\d+/, 'from=<now−24h>&to=<now>')}\` (all ${DEVICES} devices) vs \`store.query()\` with the same RangeQuery; ${RUNS} runs each, interleaved, after warm-up.`,
  '',
  '| store | readings seeded (s to write) | series × points | JSON bytes (gzip would be; sent as) | API p50 / p95 / p99 / max (ms) | API CPU ms / query | store.query p50 / p95 / max (ms) | store.query CPU ms / query | store.queryColumns p50 (ms), CPU ms / query | JSON.stringify p50 (ms) | ratio p50 API / store |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...results.map(
    (r) =>
      `| ${r.store} | ${r.seeded.toLocaleString('en')} (${r.seedS.toFixed(1)}) | ${r.series} × ${Math.round(r.points / r.series)} | ${r.bytes.toLocaleString('en')} (${r.gzipBytes.toLocaleString('en')}; ${r.contentEncoding}) | ${ms(r.api.p50)} / ${ms(r.api.p95)} / ${ms(r.api.p99)} / ${ms(r.api.max)} | ${r.apiCpuMs.toFixed(1)} | ${ms(r.direct.p50)} / ${ms(r.direct.p95)} / ${ms(r.direct.max)} | ${r.directCpuMs.toFixed(1)} | ${r.columns ? `${ms(r.columns.p50)}, ${r.columnsCpuMs!.toFixed(1)}` : '—'} | ${ms(r.encode.p50)} | ${(r.api.p50 / r.direct.p50).toFixed(2)} |`,
  ),
  '',
].join('\n');
appendFileSync(join(import.meta.dirname, 'RESULTS.md'), section);
console.log(section);
