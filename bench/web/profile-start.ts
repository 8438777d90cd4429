/**
 * Where app start spends its time (not a test, not a bench): `npx tsx bench/web/profile-start.ts [path]`.
 * Loads the built app from the mock server as bench/web/bench.ts does, with a Chromium CPU profile, and prints the
 * resource timeline, the moment the first live value shows, and the top self-time functions and scripts.
 */
import { launchBrowser, signedInContext } from '../../dashboard/web/test/browser';
import { startMockServer } from '../../dashboard/web/test/mock-server';
import { fileURLToPath } from 'node:url';
import { markerShownAt, OVERVIEW_VALUE, pushMarker, watchMarker } from './first-value';

const dist = fileURLToPath(new URL('../../dashboard/web/dist', import.meta.url));
const server = await startMockServer({ distDir: dist });
server.setReadingsRunning(false);
const browser = await launchBrowser();
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
try {
  for (let run = 0; run < Number(process.argv[2] ?? 2); run++) {
    const context = await signedInContext(browser, server.url);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    await watchMarker(page, OVERVIEW_VALUE);
    const stop = pushMarker(server);
    await page.goto(`${server.url}/`);
    const shown = await markerShownAt(page);
    stop();
    const { profile } = (await cdp.send('Profiler.stop')) as { profile: { nodes: Node[]; samples: number[]; timeDeltas: number[] } };
    const timeline = await page.evaluate(() => {
      const rows = performance.getEntriesByType('resource').map((e) => {
        const r = e as PerformanceResourceTiming;
        return `${r.startTime.toFixed(0).padStart(5)} → ${r.responseEnd.toFixed(0).padStart(5)}  ${r.initiatorType.padEnd(8)} ${r.name.replace(location.origin, '')}`;
      });
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const marks = performance.getEntriesByType('mark').map((m) => `${m.startTime.toFixed(0).padStart(5)}  mark ${m.name}`);
      const paints = performance.getEntriesByType('paint').map((m) => `${m.startTime.toFixed(0).padStart(5)}  ${m.name}`);
      return [
        `html ${nav.responseEnd.toFixed(0)} domInteractive ${nav.domInteractive.toFixed(0)} dcl ${nav.domContentLoadedEventEnd.toFixed(0)}`,
        ...rows,
        ...marks,
        ...paints,
      ];
    });
    console.log(`\n=== run ${run}: value shown at ${shown.toFixed(0)} ms`);
    for (const l of timeline) console.log(l);
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<number, number>();
    profile.samples.forEach((s, i) => self.set(s, (self.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
    const fn = new Map<string, number>();
    const script = new Map<string, number>();
    for (const [id, ms] of self) {
      const n = byId.get(id)!;
      const file = n.callFrame.url.replace(server.url, '') || '(native)';
      const key = `${n.callFrame.functionName || '(anon)'} ${file}:${n.callFrame.lineNumber}`;
      fn.set(key, (fn.get(key) ?? 0) + ms);
      if (!['(idle)', '(program)'].includes(n.callFrame.functionName)) script.set(file, (script.get(file) ?? 0) + ms);
      else script.set(n.callFrame.functionName, (script.get(n.callFrame.functionName) ?? 0) + ms);
    }
    console.log('-- self ms by script');
    for (const [k, v] of [...script].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(v.toFixed(1).padStart(7), k);
    console.log('-- self ms by function');
    for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(v.toFixed(1).padStart(7), k);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
