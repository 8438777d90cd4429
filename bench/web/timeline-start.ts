/**
 * When each thing arrives before the first live value shows (not a test, not a bench):
 * `npx tsx bench/web/timeline-start.ts [runs]`. Loads the built app as bench/web/bench.ts does and prints, in the
 * page's own clock (ms after navigation start): the HTML and each resource, first paints, the live socket's
 * opening and first frames, and each change of the overview's marker value and of the view's heading. Where
 * trace-start.ts says what the main thread did, this says what the page was waiting for.
 */
import { fileURLToPath } from 'node:url';
import { launchBrowser, signedInContext } from '../../dashboard/web/test/browser';
import { startMockServer } from '../../dashboard/web/test/mock-server';
import { markerShownAt, OVERVIEW_VALUE, pushMarker, watchMarker } from './first-value';

const dist = fileURLToPath(new URL('../../dashboard/web/dist', import.meta.url));
const server = await startMockServer({ distDir: dist });
server.setReadingsRunning(false);
const browser = await launchBrowser();

// A string, not a function: the runner's transform would wrap a function's inner helpers in names the page lacks.
const WATCH = `
  window.__events = [];
  const note = (what) => window.__events.push([performance.now(), what]);
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      note('socket created');
      this.addEventListener('open', () => note('socket open'));
      this.addEventListener('message', (e) => note('frame ' + String(e.data).slice(0, 32)));
    }
  };
  let last = '';
  const check = () => {
    const value = document.querySelector(${JSON.stringify(OVERVIEW_VALUE)});
    const h1 = document.querySelector('main h1');
    const now = 'value ' + (value ? JSON.stringify(value.textContent) : '-') + ', heading ' + (h1 ? JSON.stringify(h1.textContent) : '-');
    if (now !== last) note((last = now));
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });`;

try {
  for (let run = 0; run < Number(process.argv[2] ?? 3); run++) {
    const context = await signedInContext(browser, server.url);
    const page = await context.newPage();
    await page.addInitScript(WATCH);
    await watchMarker(page, OVERVIEW_VALUE);
    const stop = pushMarker(server);
    await page.goto(`${server.url}/`);
    const shown = await markerShownAt(page);
    stop();
    // Plain expressions only inside evaluate (no inner functions: see WATCH).
    const events = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return [
        [nav.responseStart, 'HTML first byte'],
        [nav.responseEnd, 'HTML in'],
        [nav.domContentLoadedEventEnd, 'DOMContentLoaded (module scripts run)'],
        ...performance
          .getEntriesByType('resource')
          .map((e) => [e.startTime, `${e.name.split('/').pop()} asked (in at ${(e as PerformanceResourceTiming).responseEnd.toFixed(0)})`]),
        ...performance.getEntriesByType('paint').map((e) => [e.startTime, e.name]),
        ...(window as unknown as { __events: Array<[number, string]> }).__events,
      ] as Array<[number, string]>;
    });
    const lines = events.sort((a, b) => a[0] - b[0]).map(([ms, what]) => `${ms.toFixed(0).padStart(5)}  ${what}`);
    console.log(`\n=== run ${run}: marker shown ${shown.toFixed(0)} ms after navigation`);
    console.log(lines.join('\n'));
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
