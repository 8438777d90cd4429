/**
 * Where a chart's render spends its time (not a test, not a bench): `npx tsx bench/web/profile-chart.ts [runs] [windowMs]`.
 * Builds the chart bench page unminified (function names readable), renders bench/web/bench.ts' heaviest chart
 * (every air station's four pollutants over 24 h) under a Chromium CPU profile, and prints the top self-time
 * functions and scripts from the data's arrival to the lines on screen.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, signedInContext } from '../../dashboard/web/test/browser';
import { startMockServer } from '../../dashboard/web/test/mock-server';
import { RANGES } from '../../dashboard/web/src/lib/ranges';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const runs = Number(process.argv[2] ?? 3);
const windowMs = Number(process.argv[3] ?? RANGES['24h'].windowMs);
const outDir = mkdtempSync(join(tmpdir(), 'web-profile-'));
execFileSync(join(root, 'node_modules/.bin/vite'), ['build', '--config', join(here, 'vite.config.ts'), '--minify', 'false'], {
  cwd: here,
  stdio: 'ignore',
  env: { ...process.env, BENCH_OUT: outDir },
});

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
const server = await startMockServer({ distDir: outDir });
const browser = await launchBrowser();
try {
  const to = Math.floor(Date.now() / 300_000) * 300_000;
  const fields = ['pm25', 'pm10', 'no2', 'so2'];
  const series = server.city.devices.filter((d) => d.kind === 'air_station').length * fields.length;
  const q = { kind: 'air_station', fields, from: to - RANGES['24h'].spanMs, to, windowMs };
  for (let run = 0; run < runs; run++) {
    const context = await signedInContext(browser, server.url, 'viewer', { width: 1700, height: 600 });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    const finished = new Promise<{ nodes: Node[]; samples: number[]; timeDeltas: number[] }>((done) =>
      cdp.on('Profiler.consoleProfileFinished', (e) =>
        done({ nodes: e.profile.nodes, samples: e.profile.samples ?? [], timeDeltas: e.profile.timeDeltas ?? [] }),
      ),
    );
    await page.goto(`${server.url}/index.html?mode=app&profile&series=${series}&q=${encodeURIComponent(JSON.stringify(q))}`);
    const r = await page.waitForFunction(() => window.benchResult ?? null, undefined, { timeout: 120_000 });
    const { ms } = (await r.jsonValue()) as { ms: number };
    const profile = await finished;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const fn = new Map<string, number>();
    const script = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((s, i) => {
      const n = byId.get(s)!;
      const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const file = n.callFrame.url.replace(/.*\//, '') || '(native)';
      const key = `${n.callFrame.functionName || '(anon)'} ${file}:${n.callFrame.lineNumber}`;
      fn.set(key, (fn.get(key) ?? 0) + dt);
      script.set(file, (script.get(file) ?? 0) + dt);
      total += dt;
    });
    console.log(`\n=== run ${run}: ${series} series, render ${ms.toFixed(0)} ms; profiled ${total.toFixed(0)} ms`);
    console.log('-- self ms by script');
    for (const [k, v] of [...script].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(v.toFixed(1).padStart(7), k);
    console.log('-- self ms by function');
    for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(v.toFixed(1).padStart(7), k);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
