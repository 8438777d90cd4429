/**
 * What the renderer's main thread does before the first live value shows (not a test, not a bench):
 * `npx tsx bench/web/trace-start.ts [runs]`. Loads the built app as bench/web/bench.ts does, under a Chromium
 * trace (devtools.timeline, v8, blink), and prints, up to the moment the value shows, the main thread's self time
 * per trace event (script evaluation, compile, style, layout, paint, parse HTML, …) and the longest tasks. Where
 * profile-start.ts says "(program)", this says which native work it was.
 */
import { fileURLToPath } from 'node:url';
import { launchBrowser, signedInContext } from '../../dashboard/web/test/browser';
import { startMockServer } from '../../dashboard/web/test/mock-server';
import { markerShownAt, OVERVIEW_VALUE, pushMarker, watchMarker } from './first-value';

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: { url?: string; frame?: string } };
}

const CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'toplevel'];
const dist = fileURLToPath(new URL('../../dashboard/web/dist', import.meta.url));
const server = await startMockServer({ distDir: dist });
server.setReadingsRunning(false);
const browser = await launchBrowser();

/** Self time per event name on one thread: complete events nested by time, each minus what it encloses. */
function selfTimes(events: TraceEvent[], until: number): Map<string, number> {
  const xs = events.filter((e) => e.ph === 'X' && e.dur !== undefined && e.ts <= until).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const self = new Map<string, number>();
  const stack: Array<{ end: number; name: string; child: number; dur: number }> = [];
  const pop = () => {
    const top = stack.pop()!;
    self.set(top.name, (self.get(top.name) ?? 0) + (top.dur - top.child) / 1000);
  };
  for (const e of xs) {
    while (stack.length && stack[stack.length - 1]!.end <= e.ts) pop();
    const dur = Math.min(e.dur!, until - e.ts);
    if (stack.length) stack[stack.length - 1]!.child += dur;
    stack.push({ end: e.ts + e.dur!, name: e.name, child: 0, dur });
  }
  while (stack.length) pop();
  return self;
}

try {
  for (let run = 0; run < Number(process.argv[2] ?? 2); run++) {
    const context = await signedInContext(browser, server.url);
    const page = await context.newPage();
    await browser.startTracing(page, { categories: CATEGORIES });
    await watchMarker(page, OVERVIEW_VALUE);
    const stop = pushMarker(server);
    await page.goto(`${server.url}/`);
    const shown = await markerShownAt(page);
    stop();
    const { traceEvents } = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] };
    // The renderer's main thread of this page: the CrRendererMain that ran the navigation's HTML parse.
    const mains = traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
    const busiest = mains
      .map((m) => ({ m, n: traceEvents.filter((e) => e.pid === m.pid && e.tid === m.tid && e.ph === 'X').length }))
      .sort((a, b) => b.n - a.n)[0]!.m;
    const events = traceEvents.filter((e) => e.pid === busiest.pid && e.tid === busiest.tid);
    const navStart = Math.min(...traceEvents.filter((e) => e.name === 'navigationStart' || e.name === 'ParseHTML').map((e) => e.ts));
    // The page's performance.now() counts from its navigation's start, as the trace's navigationStart does.
    const until = navStart + shown * 1000;
    const self = selfTimes(events, until);
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    console.log(`\n=== run ${run}: value shown ${shown.toFixed(0)} ms after navigation; main thread busy ${total.toFixed(0)} ms before it`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(v.toFixed(1).padStart(8), k);
    console.log('-- longest tasks (ms after navigation start: duration)');
    const tasks = events.filter((e) => e.ph === 'X' && e.name === 'RunTask' && e.ts <= until);
    for (const t of tasks
      .sort((a, b) => b.dur! - a.dur!)
      .slice(0, 8)
      .sort((a, b) => a.ts - b.ts))
      console.log(`${((t.ts - navStart) / 1000).toFixed(0).padStart(6)}: ${(t.dur! / 1000).toFixed(1)}`);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
