/**
 * Dashboard web figures (not a test): `npx tsx bench/web/bench.ts`. Writes bench/web/RESULTS.md.
 *
 * 1. Production bundle, gzip: what each view downloads (entry + its chunks, from Vite's manifest),
 *    against the floor of React itself (react + react-dom production builds, gzip).
 * 2. Time from navigation start to the first live value on screen (overview, a WS reading pushed by the
 *    mock server), against a bare page that only opens the WebSocket and writes the value into a div.
 * 3. Render time of the heaviest chart the app draws (24 h × 52 series, at the app's windows and at 1-minute
 *    windows), TrendChart against plain SVG polylines of the same data.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, CDPSession } from 'playwright-core';
import { launchBrowser, signedInContext } from '../../dashboard/web/test/browser';
import { startMockServer, type MockServer } from '../../dashboard/web/test/mock-server';
import { RANGES } from '../../dashboard/web/src/lib/ranges';
import { markerPolledAt, markerShownAt, OVERVIEW_VALUE, pushMarker, watchMarker } from './first-value';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(root, 'dashboard/web/dist');
const RUNS = process.argv.includes('--quick') ? 3 : 7;
/** `--only live` or `--only chart`: that measure alone, printed, RESULTS.md left as it is (a partial run). */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (only !== undefined && only !== 'live' && only !== 'chart') throw new Error(`--only live or --only chart, not ${only}`);
const lines: string[] = [];
const out = (s = '') => {
  console.log(s);
  lines.push(s);
};
const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gz = (file: string) => gzipSync(readFileSync(file), { level: 9 }).length;

type Entry = { file: string; imports?: string[]; css?: string[] };
function closureOf(manifest: Record<string, Entry>) {
  const closure = (key: string, seen = new Set<string>()): Set<string> => {
    const e = manifest[key];
    if (!e || seen.has(e.file)) return seen;
    seen.add(e.file);
    for (const c of e.css ?? []) seen.add(c);
    for (const i of e.imports ?? []) closure(i, seen);
    return seen;
  };
  return closure;
}

function buildBenchPages(): string {
  const outDir = mkdtempSync(join(tmpdir(), 'web-bench-'));
  execFileSync(join(root, 'node_modules/.bin/vite'), ['build', '--config', join(here, 'vite.config.ts')], {
    cwd: here,
    stdio: 'ignore',
    env: { ...process.env, BENCH_OUT: outDir },
  });
  return outDir;
}

function bundle(benchDir: string): void {
  execFileSync('npm', ['run', 'build', '-w', 'dashboard/web'], { cwd: root, stdio: 'ignore' });
  const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8')) as Record<string, Entry>;
  const closure = closureOf(manifest);
  const entry = closure('index.html');
  entry.add('index.html');
  const size = (files: Set<string>) => [...files].reduce((n, f) => n + gz(join(dist, f)), 0);
  const entrySize = size(entry);
  const benchManifest = JSON.parse(readFileSync(join(benchDir, '.vite/manifest.json'), 'utf8')) as Record<string, Entry>;
  const hello = closureOf(benchManifest)('hello.html');
  const reactFloor = [...hello].reduce((n, f) => n + gz(join(benchDir, f)), 0) + gz(join(benchDir, 'hello.html'));
  out('## 1. Production bundle (gzip -9)');
  out();
  out(`Floor (peer): a hello-world React 19 app built by the same Vite = ${kB(reactFloor)}.`);
  out();
  out('| view | downloads (entry + view chunks) | ratio to the React floor |');
  out('|---|---|---|');
  out(`| first load (login) | ${kB(entrySize)} | ${(entrySize / reactFloor).toFixed(2)} |`);
  for (const view of ['OverviewView', 'EnvironmentView', 'AlarmsView', 'GatewaysView', 'WallView']) {
    const files = closure(`src/views/${view}.tsx`, new Set(entry));
    const s = size(files);
    out(`| ${view} | ${kB(s)} | ${(s / reactFloor).toFixed(2)} |`);
  }
  out();
  out(
    'Static imports only: the overview fetches the chart chunk (~133 kB gzip, recharts 3 with its d3/redux dependencies) after its live values are on screen; Environment/Traffic/Lighting/device pages need it up front. The gateway (phone) and wall views never load it.',
  );
  out();
}

/**
 * The page's main-thread task time so far (CDP Performance.getMetrics `TaskDuration`, ms): the renderer's CPU for
 * the page, steadier on a shared machine than the wall time it is read next to.
 */
async function taskMs(cdp: CDPSession): Promise<number> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> };
  return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000;
}

const PEER_HTML = `<!doctype html><html lang="vi"><body><div id="v"></div><script>
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
ws.onopen = () => ws.send(JSON.stringify({ type: 'subscribe', channels: ['readings'] }));
ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type !== 'readings') return;
  for (const r of m.readings) if (r.device === 'an-my-noise-1') document.getElementById('v').textContent = new Intl.NumberFormat('vi-VN').format(r.values.laeq); };
</script></body></html>`;

/** The peer page is served by a second mock server (a page fulfilled by the test harness may not open a loopback WebSocket). */
async function firstLiveValue(browser: Browser, appServer: MockServer, peerServer: MockServer): Promise<void> {
  const measure = async (server: MockServer, path: string, selector: string): Promise<{ ms: number; polledMs: number; cpuMs: number }> => {
    server.setReadingsRunning(false);
    const context = await signedInContext(browser, server.url);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const describe = async (err: Error) =>
      new Error(`${err.message}; page shows: ${(await page.locator('body').innerText()).slice(0, 400)}; errors: ${errors.join(' | ')}`);
    await watchMarker(page, selector);
    const stop = pushMarker(server);
    await page.goto(`${server.url}${path}`);
    // The old way first: its poll starts as goto returns.
    const polledMs = await markerPolledAt(page, selector).catch(async (err: Error) => {
      throw await describe(err);
    });
    const ms = await markerShownAt(page, describe);
    stop();
    const cpuMs = await taskMs(cdp);
    await context.close();
    return { ms, polledMs, cpuMs };
  };
  const app: number[] = [];
  const peer: number[] = [];
  const appPolled: number[] = [];
  const peerPolled: number[] = [];
  const appCpu: number[] = [];
  const peerCpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = await measure(appServer, '/', OVERVIEW_VALUE);
    const p = await measure(peerServer, '/peer.html', '#v');
    app.push(a.ms);
    appPolled.push(a.polledMs);
    appCpu.push(a.cpuMs);
    peer.push(p.ms);
    peerPolled.push(p.polledMs);
    peerCpu.push(p.cpuMs);
  }
  out('## 2. Navigation start → first live value on screen (median of ' + RUNS + ', fresh browser context each run)');
  out();
  out(
    'ms: the first frame showing the value painted, seen from inside the page (first-value.ts). Polled: the same value as a poll from the test saw it, started when goto returned (after the load event): how this table was measured until 2026-12-08.',
  );
  out();
  out('| page | ms | polled ms (until 2026-12-08) | main-thread task ms (renderer CPU) |');
  out('|---|---|---|---|');
  out(
    `| dashboard overview (snapshot inlined into index.html, then WS readings applied) | ${median(app).toFixed(0)} | ${median(appPolled).toFixed(0)} | ${median(appCpu).toFixed(0)} |`,
  );
  out(`| bare WebSocket page (peer) | ${median(peer).toFixed(0)} | ${median(peerPolled).toFixed(0)} | ${median(peerCpu).toFixed(0)} |`);
  out(
    `| ratio | ${(median(app) / median(peer)).toFixed(2)} | ${(median(appPolled) / median(peerPolled)).toFixed(2)} | ${(median(appCpu) / median(peerCpu)).toFixed(2)} |`,
  );
  out();
}

/**
 * The heaviest chart the app draws: a day of every air station's four pollutants (13 × 4 = 52 series) at the
 * 24 h range's windows (RANGES['24h'], as the environment view asks), and the same day in 1-minute windows (the
 * most any answer holds per series) as a stress row.
 */
async function chartRender(browser: Browser, outDir: string): Promise<void> {
  const server = await startMockServer({ distDir: outDir });
  try {
    const to = Math.floor(Date.now() / 300_000) * 300_000;
    const fields = ['pm25', 'pm10', 'no2', 'so2'];
    const series = server.city.devices.filter((d) => d.kind === 'air_station').length * fields.length;
    const cases = [
      { label: `24 h at the app's 5-minute windows, ${series} series × 288 points`, windowMs: RANGES['24h'].windowMs },
      { label: `24 h at 1-minute windows (stress), ${series} series × 1440 points`, windowMs: 60_000 },
    ];
    const measure = async (mode: string, q: object) => {
      const context = await signedInContext(browser, server.url);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      await page.setViewportSize({ width: 1700, height: 600 });
      await page.goto(`${server.url}/index.html?mode=${mode}&series=${series}&q=${encodeURIComponent(JSON.stringify(q))}`);
      const r = await page.waitForFunction(() => window.benchResult ?? null, undefined, { timeout: 60_000 });
      const { ms } = (await r.jsonValue()) as { ms: number };
      const cpuMs = await taskMs(cdp);
      await context.close();
      return { ms, cpuMs };
    };
    out(`## 3. Rendering a 24 h chart of ${series} series (median of ${RUNS}; data already fetched)`);
    out();
    out('| chart | renderer | ms | main-thread task ms for the whole page (renderer CPU) |');
    out('|---|---|---|---|');
    for (const c of cases) {
      const q = { kind: 'air_station', fields, from: to - RANGES['24h'].spanMs, to, windowMs: c.windowMs };
      const app: number[] = [];
      const peer: number[] = [];
      const appCpu: number[] = [];
      const peerCpu: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const a = await measure('app', q);
        const p = await measure('peer', q);
        app.push(a.ms);
        appCpu.push(a.cpuMs);
        peer.push(p.ms);
        peerCpu.push(p.cpuMs);
      }
      out(
        `| ${c.label} | TrendChart (recharts 3 axes, grid and tooltip; lines as SVG paths) | ${median(app).toFixed(0)} | ${median(appCpu).toFixed(0)} |`,
      );
      out(`| | plain SVG polylines (peer) | ${median(peer).toFixed(0)} | ${median(peerCpu).toFixed(0)} |`);
      out(`| | ratio | ${(median(app) / median(peer)).toFixed(1)} | ${(median(appCpu) / median(peerCpu)).toFixed(1)} |`);
    }
    out();
    out(
      "The server fits its windows to the chart's pixel width and the chart bounds its rows to one per pixel (min/max-decimated, peaks kept: dashboard/web/src/lib/chart-rows.ts). recharts draws the axes, grid, tooltip and limit lines at the width the chart measured (no ResponsiveContainer); the lines are one SVG path per series (components/SeriesLines.tsx), since recharts' <Line> cost grows with every series it registers. Renderer CPU includes the page's load and the JSON parse.",
    );
    out();
  } finally {
    await server.close();
  }
}

out('# Dashboard web benchmark');
out();
out(
  `Run: \`npx tsx bench/web/bench.ts\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, Debian chromium headless, shared 2-core host (load average ${loadavg()[0]!.toFixed(1)} at start: other engineers' work running): treat as indicative, compare the ratios.`,
);
out();
const benchDir = buildBenchPages();
bundle(benchDir);
if (!existsSync(join(dist, 'index.html'))) throw new Error('dist not built');
writeFileSync(join(benchDir, 'peer.html'), PEER_HTML);
const browser = await launchBrowser();
const appServer = await startMockServer({ distDir: dist });
const peerServer = await startMockServer({ distDir: benchDir });
try {
  if (only !== 'chart') await firstLiveValue(browser, appServer, peerServer);
  if (only !== 'live') await chartRender(browser, benchDir);
} finally {
  await appServer.close();
  await peerServer.close();
  await browser.close();
}
if (only !== undefined) process.exit(0);
// The latest run replaces the figures above; the History section (earlier runs worth keeping) stays.
const resultsFile = join(here, 'RESULTS.md');
const previous = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
const history = previous.indexOf('\n# History');
writeFileSync(resultsFile, `${lines.join('\n')}\n${history >= 0 ? previous.slice(history) : ''}`);
