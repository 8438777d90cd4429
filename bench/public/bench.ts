/**
 * Residents' page under a crowd (not a test): `npx tsx bench/public/bench.ts`. Appends to bench/public/RESULTS.md.
 *
 * 1. 1,000 concurrent GET /api/public/summary in waves (a crowd during a flood, each request from its own
 *    address) while a signed-in operator keeps asking GET /api/overview: the operator's latency under the
 *    crowd against the same requests idle (goal ≤ 1.2×), the dashboard's CPU time during the crowd, and how
 *    often the store was read for the public (the cache should build about once per TTL).
 * 2. /public on a throttled phone connection (Chromium CDP Network.emulateNetworkConditions + 4× CPU
 *    throttle): bytes transferred and time to first contentful paint and to the data on screen, against the
 *    operations app's own first page (the login screen) under the same conditions.
 * The dashboard and the crowd each run in a process of their own; this one only probes and measures. CPU time
 * per public request is read from /proc for both (the dashboard's is the figure that matters on a shared machine).
 * SKIP_PAGE=1 runs part 1 only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { launchBrowser } from '../../dashboard/web/test/browser';
import { login } from '../../dashboard/server/test/helpers';
import { processCpuMs } from '../support/proc-cpu';

const root = join(import.meta.dirname, '../..');
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const PROBES = Number(process.env.PROBES ?? 40);
const lines: string[] = [];
const out = (s = '') => {
  console.log(s);
  lines.push(s);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

function child(file: string): { proc: ChildProcess; next(): Promise<Record<string, unknown>> } {
  const proc = fork(join(import.meta.dirname, file), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    proc,
    next: () =>
      new Promise((resolve, reject) => {
        proc.once('message', (m) => resolve(m as Record<string, unknown>));
        proc.once('exit', (code) => reject(new Error(`${file} exited (${code})`)));
      }),
  };
}

if (!existsSync(join(root, 'dashboard/web/dist/public.html'))) throw new Error('build the web app first: npm run build:web');
const server = child('server.ts');
const { url, pid } = (await server.next()) as { url: string; pid: number };
const operator = await login(url, 'operator');
const probe = async () => {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/overview`, { headers: { cookie: operator.cookie } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`operator probe: ${res.status}`);
  return performance.now() - t0;
};
const probeFor = async (n: number, until?: () => boolean) => {
  const ms: number[] = [];
  while (until ? !until() : ms.length < n) ms.push(await probe());
  return ms;
};

out(
  `Machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} at start (shared, loaded machine: read the ratios).`,
);
out('');
for (let i = 0; i < 5; i++) await probe(); // warm-up
const idle = await probeFor(PROBES);

const crowd = child('crowd.ts');
crowd.proc.send({ url, concurrency: CONCURRENCY, seconds: SECONDS });
await crowd.next();
server.proc.send('stats');
const before = (await server.next()).latestCalls as number;
const cpu0 = processCpuMs(pid);
const t0 = performance.now();
let crowdDone = false;
const crowdResult = crowd.next().then((r) => {
  crowdDone = true;
  return r;
});
crowd.proc.send({ go: true });
const loaded = await probeFor(0, () => crowdDone);
const result = (await crowdResult) as {
  waves: number;
  requests: number;
  byStatus: Record<string, number>;
  p50: number;
  p99: number;
  cpuMs: number;
};
const wallS = (performance.now() - t0) / 1000;
const cpuMs = processCpuMs(pid) - cpu0;
const crowdCpuMs = result.cpuMs;
server.proc.send('stats');
const publicBuilds = ((await server.next()).latestCalls as number) - before - loaded.length;
const after = await probeFor(PROBES);

// Idle is measured before and after the crowd and pooled: on a shared machine either alone may catch a noisy moment.
const ratio = median(loaded) / median([...idle, ...after]);
out(`## Crowd: ${CONCURRENCY} concurrent GET /api/public/summary in waves for ${SECONDS} s, operator GET /api/overview meanwhile`);
out('');
out('| measure | value |');
out('|---|---|');
out(
  `| public requests served | ${result.requests} in ${result.waves} waves of ${CONCURRENCY} (${Math.round(result.requests / wallS)}/s); statuses ${JSON.stringify(result.byStatus)} |`,
);
out(`| public latency under the crowd | p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms |`);
out(`| store reads for the public during the crowd | ${publicBuilds} (cache TTL 30 s) |`);
out(
  `| dashboard CPU time during the crowd | ${(cpuMs / 1000).toFixed(1)} s over ${wallS.toFixed(1)} s wall (${(cpuMs / result.requests).toFixed(2)} ms per public request) |`,
);
out(
  `| crowd process CPU (the load generator, for scale) | ${(crowdCpuMs / 1000).toFixed(1)} s (${(crowdCpuMs / result.requests).toFixed(2)} ms per request) |`,
);
out(
  `| load average at the end | ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} |`,
);
out(`| operator /api/overview idle | p50 ${median(idle).toFixed(1)} ms, p90 ${pct(idle, 0.9).toFixed(1)} ms (${idle.length} requests) |`);
out(
  `| operator /api/overview under the crowd | p50 ${median(loaded).toFixed(1)} ms, p90 ${pct(loaded, 0.9).toFixed(1)} ms (${loaded.length} requests) |`,
);
out(`| operator /api/overview after the crowd | p50 ${median(after).toFixed(1)} ms |`);
out(
  `| **ratio loaded / idle (p50, idle before and after pooled)** | **${ratio.toFixed(2)}×** (goal ≤ 1.2×; before only: ${(median(loaded) / median(idle)).toFixed(2)}×, after only: ${(median(loaded) / median(after)).toFixed(2)}×) |`,
);
out('');
// 1b. The same answer through the fast path and through the express stack (the trailing-slash path skips the
// fast path; same cache, same handler), one after the other from fresh crowds: dashboard CPU per request, A/B.
async function crowdCpu(path: string) {
  const c = child('crowd.ts');
  c.proc.send({ url, concurrency: CONCURRENCY, seconds: SECONDS, path });
  await c.next();
  const cpu0 = processCpuMs(pid);
  const done = c.next();
  c.proc.send({ go: true });
  const r = (await done) as { requests: number; waves: number; byStatus: Record<string, number> };
  return { ...r, cpuMs: processCpuMs(pid) - cpu0 };
}
const viaExpress = await crowdCpu('/api/public/summary/');
const viaFast = await crowdCpu('/api/public/summary');
out('## Dashboard CPU per public request: fast path vs the express stack (A/B, same process, fresh crowd each)');
out('');
out('| path | requests (waves) | statuses | dashboard CPU | per request |');
out('|---|---|---|---|---|');
for (const [name, r] of [
  ['express stack (`/api/public/summary/`)', viaExpress],
  ['fast path (`/api/public/summary`)', viaFast],
] as const)
  out(
    `| ${name} | ${r.requests} (${r.waves}) | ${JSON.stringify(r.byStatus)} | ${(r.cpuMs / 1000).toFixed(2)} s | ${(r.cpuMs / r.requests).toFixed(3)} ms |`,
  );
out(`| **fast / express** | | | | **${(viaFast.cpuMs / viaFast.requests / (viaExpress.cpuMs / viaExpress.requests)).toFixed(2)}×** |`);
out(
  `| load average at the end | ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} | | | |`,
);
out('');

server.proc.send('close');
await new Promise((r) => server.proc.once('exit', r));

// 2. The page on a throttled phone connection.
if (process.env.SKIP_PAGE) {
  appendFileSync(
    join(import.meta.dirname, 'RESULTS.md'),
    `\n## ${new Date().toISOString()} — \`SKIP_PAGE=1 npx tsx bench/public/bench.ts\` (CONCURRENCY=${CONCURRENCY} SECONDS=${SECONDS})\n\n${lines.join('\n')}\n`,
  );
  process.exit(0);
}
const pageServer = child('server.ts');
const page = (await pageServer.next()) as { url: string };
const browser = await launchBrowser();
const NETWORK = { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 };
async function measure(path: string, ready: string) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const p = await ctx.newPage();
  const cdp = await ctx.newCDPSession(p);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', NETWORK);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
    bytes += e.encodedDataLength;
  });
  await p.goto(`${page.url}${path}`);
  await p.waitForSelector(ready, { timeout: 60_000 });
  const ms = await p.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    ready: performance.now(),
  }));
  await p.waitForLoadState('networkidle');
  const firstLook = bytes;
  // The residents' map loads only when scrolled to: its bytes and time are counted apart.
  let map = { bytes: NaN, ms: NaN };
  if (path === '/public') {
    const t0 = await p.evaluate(() => performance.now());
    await p.locator('section.map').scrollIntoViewIfNeeded();
    await p.waitForSelector('.geo-map-canvas[data-ready="true"]', { timeout: 120_000 });
    const t1 = await p.evaluate(() => performance.now());
    await p.waitForLoadState('networkidle');
    map = { bytes: bytes - firstLook, ms: t1 - t0 };
  }
  await ctx.close();
  return { ...ms, bytes: firstLook, map };
}
const RUNS = 3;
const pub: Array<Awaited<ReturnType<typeof measure>>> = [];
const ops: Array<Awaited<ReturnType<typeof measure>>> = [];
for (let i = 0; i < RUNS; i++) {
  pub.push(await measure('/public', 'article.ward'));
  ops.push(await measure('/', 'input'));
}
await browser.close();
pageServer.proc.send('close');
await new Promise((r) => pageServer.proc.once('exit', r));
const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`;
out(`## Page on a throttled phone (latency ${NETWORK.latency} ms, 1.6 Mbit/s down, 750 kbit/s up, CPU 4× slower), median of ${RUNS}`);
out('');
out('| page | bytes transferred (until idle, before any scroll) | first contentful paint | data on screen |');
out('|---|---|---|---|');
out(
  `| /public (list; the map loads when scrolled to) | ${kB(median(pub.map((x) => x.bytes)))} | ${median(pub.map((x) => x.fcp)).toFixed(0)} ms | ${median(pub.map((x) => x.ready)).toFixed(0)} ms (ward list) |`,
);
out(
  `| /public map, scrolled to (MapLibre chunk, /api/public/map) | +${kB(median(pub.map((x) => x.map.bytes)))} | — | ${median(pub.map((x) => x.map.ms)).toFixed(0)} ms from the scroll to the map drawn |`,
);
out(
  `| operations app, login screen (peer) | ${kB(median(ops.map((x) => x.bytes)))} | ${median(ops.map((x) => x.fcp)).toFixed(0)} ms | ${median(ops.map((x) => x.ready)).toFixed(0)} ms (login form) |`,
);
out('');
appendFileSync(
  join(import.meta.dirname, 'RESULTS.md'),
  `\n## ${new Date().toISOString()} — \`npx tsx bench/public/bench.ts\` (CONCURRENCY=${CONCURRENCY} SECONDS=${SECONDS})\n\n${lines.join('\n')}\n`,
);
process.exit(0);
