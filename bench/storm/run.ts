/**
 * Alarm storm on the wall and the alarm desk (not a test): `npx tsx bench/storm/run.ts [--alarms 2000] [--burst 200] [--rounds 2]`.
 * Appends to bench/storm/RESULTS.md.
 *
 * The real dashboard server with the alarms module (default rules) and the built web app, the Tam Kỳ city. A storm of
 * device alarms is raised through the alarms module as ingest's events arrive (`onMqttMessage`: lifecycle, then the live
 * broadcast), spread over the city's devices, wards and the rules that watch each device's kind. Then in Debian Chromium
 * at 1920×1080, per round, each view in a fresh page:
 *  - the wall (`/wall?panels=alarms`, kiosk): navigation start → the alarm list, the takeover banner and the unacknowledged
 *    count drawn; then a burst of more alarms → the count grown by the burst (first frame that shows it);
 *  - the alarm desk (`/alarms`, operator): navigation start → the table and the unacknowledged badge drawn; then a burst →
 *    the badge grown by the burst; each burst timed from its first alarm applied and from its last (the goal: a storm
 *    arriving while the view is open is on screen ≤ 500 ms after its last alarm);
 *  - in-app navigation, what an operator does: the app open on the overview, then the menu's route to the desk (or the
 *    wall's route) → the same drawn state, in the same page (no app start);
 *  - Chromium's CPU (every process) over each of those, and this process's memory (the dashboard runs in it) before and
 *    after the storm.
 */
import { execSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '@tamky/test-support';
import type { AlarmEvent, Severity } from '@tamky/protocol';
import { createAlarmsModule } from '../../dashboard/server/src/alarms';
import { KIOSK_TOKEN, login, startHarness } from '../../dashboard/server/test/helpers';
import { DIST_DIR, ensureBuilt, REPO_DIR } from '../../dashboard/web/test/browser';
import { startCpuMeter } from '../support/cpu-meter';

const { values } = parseArgs({
  options: {
    alarms: { type: 'string', default: '2000' },
    burst: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '2' },
    peer: { type: 'string', default: '20' },
  },
});
const STORM = Number(values.alarms);
const BURST = Number(values.burst);
const ROUNDS = Number(values.rounds);
const PEER = Math.min(Number(values.peer), STORM);
/** How long the settled page is watched with nothing arriving, before each burst. */
const IDLE_MS = 3000;
const command = `npx tsx bench/storm/run.ts --alarms ${STORM} --burst ${BURST} --rounds ${ROUNDS} --peer ${PEER}`;

/** The default rules that watch a device of each kind, with the severities they raise (as config/rules/default.yaml). */
const RULES_BY_KIND: Record<string, Array<{ rule: string; category: string; severity: Severity }>> = {
  air_station: [
    { rule: 'aqi-bad', category: 'air', severity: 'major' },
    { rule: 'pm25-high', category: 'air', severity: 'warning' },
  ],
  noise_meter: [{ rule: 'noise-qcvn26', category: 'noise', severity: 'minor' }],
  street_light: [
    { rule: 'lamp-failure', category: 'lighting', severity: 'minor' },
    { rule: 'day-burner', category: 'lighting', severity: 'warning' },
    { rule: 'night-outage', category: 'lighting', severity: 'minor' },
  ],
  traffic_counter: [{ rule: 'traffic-congestion', category: 'traffic', severity: 'warning' }],
  water_level: [
    { rule: 'flood-level', category: 'water', severity: 'critical' },
    { rule: 'flood-rising-fast', category: 'water', severity: 'major' },
  ],
};
const ANY_DEVICE = [
  { rule: 'device-silent', category: 'equipment', severity: 'minor' as Severity },
  { rule: 'device-crc-errors', category: 'equipment', severity: 'warning' as Severity },
];

ensureBuilt();
const alarmsModule = createAlarmsModule({ rulesFile: join(REPO_DIR, 'config/rules/default.yaml'), tickMs: 1000 });
const h = await startHarness({ modules: [alarmsModule], config: { webDist: DIST_DIR } });
const devices = h.city.devices;

let serial = 0;
const severityMix: Record<string, number> = {};
/** The n-th alarm of the storm: a device in turn, one of the rules for its kind; each its own source so none merge. */
function stormEvent(): AlarmEvent {
  const n = serial++;
  const device = devices[n % devices.length]!;
  const rules = [...(RULES_BY_KIND[device.kind] ?? []), ...ANY_DEVICE];
  const r = rules[Math.floor(n / devices.length) % rules.length]!;
  severityMix[r.severity] = (severityMix[r.severity] ?? 0) + 1;
  const ts = Date.now();
  return {
    ruleId: r.rule,
    sourceId: `${device.id}#storm-${n}`,
    state: 'raised',
    severity: r.severity,
    category: r.category,
    ward: device.ward,
    kind: device.kind,
    device: device.id,
    gateway: device.gateway,
    value: 2,
    limit: 1,
    since: ts - 60_000,
    ts,
    message: { vi: `${device.name}: bão cảnh báo ${n}`, en: `${device.name}: storm alarm ${n}` },
  };
}
/** As ingest's events arrive: the module applies each and broadcasts the change to the live clients. */
async function raise(count: number): Promise<{ started: number; last: number }> {
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const e = stormEvent();
    await alarmsModule.onMqttMessage!(`city/v1/alarm/${e.ruleId}/${e.sourceId}`, Buffer.from(JSON.stringify(e)));
  }
  return { started, last: Date.now() };
}

const mib = (n: number) => (n / 2 ** 20).toFixed(1);
function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

// In-page predicates as arrow functions with arguments (the app's CSP forbids evaluating strings). The wall's count is its
// header's `data-count`; the desk's is the menu badge (digits of the locale-formatted number).
const shown = (view: string): number =>
  view === 'wall'
    ? Number(document.querySelector<HTMLElement>('[data-testid="unacked-count"]')?.dataset.count ?? 0)
    : Number((document.querySelector('[data-testid="unacked-badge"]')?.textContent ?? '0').replace(/\D/g, ''));
/** The view's list drawn: performance.now() (navigation start is 0) in the first frame that shows it. */
const ready = (view: string): number | false => {
  const drawn =
    view === 'wall'
      ? document.querySelector('.wall-alarms li[data-alarm]') &&
        document.querySelector('[data-testid="alarm-banner"]') &&
        Number(document.querySelector<HTMLElement>('[data-testid="unacked-count"]')?.dataset.count) > 0
      : document.querySelector('[data-testid="alarm-desk"] tbody tr') && document.querySelector('[data-testid="unacked-badge"]');
  return drawn ? performance.now() : false;
};
/** The count grown to `target`: Date.now() in the first frame that shows it (the same clock as this process). */
const grown = ({ view, target }: { view: string; target: number }): number | false => {
  const n =
    view === 'wall'
      ? Number(document.querySelector<HTMLElement>('[data-testid="unacked-count"]')?.dataset.count ?? 0)
      : Number((document.querySelector('[data-testid="unacked-badge"]')?.textContent ?? '0').replace(/\D/g, ''));
  return n >= target ? Date.now() : false;
};

interface Measure {
  view: string;
  round: number;
  firstRender: number;
  firstCpu: number;
  shownBefore: number;
  /** Absent for the peer (a short list, no burst). `idlePerS`: Chromium CPU per second of the settled page before it. */
  burst?: { ms: number; fromLastMs: number; cpu: number; applyMs: number; idlePerS: number };
}

/**
 * One view in a fresh page: navigation → `ready` true (performance.now() in the first frame that shows it), then a burst →
 * `count()` grown by the burst, timed from the first event applied to the first frame showing it (same clock: Date.now()).
 */
async function measureView(
  browser: Browser,
  browserPid: number,
  view: string,
  round: number,
  open: (page: Page) => Promise<void>,
  burst = true,
): Promise<Measure> {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  page.setDefaultTimeout(120_000);
  let cpu = startCpuMeter([browserPid], { self: false });
  await open(page);
  const firstRender = (await (await page.waitForFunction(ready, view, { polling: 'raf', timeout: 120_000 })).jsonValue()) as number;
  const firstCpu = cpu.ms();
  const shownBefore = await page.evaluate(shown, view);
  if (!burst) {
    await page.close();
    return { view, round, firstRender, firstCpu, shownBefore };
  }
  // Let the page settle (live socket open, no render pending) before the burst, then what it costs with nothing arriving
  // (its clock, the banner's pulse): the burst's CPU beyond that is the alarms'.
  await page.waitForTimeout(1000);
  cpu = startCpuMeter([browserPid], { self: false });
  await page.waitForTimeout(IDLE_MS);
  const idlePerS = (cpu.ms() * 1000) / IDLE_MS;
  cpu = startCpuMeter([browserPid], { self: false });
  const { started, last } = await raise(BURST);
  const applyMs = last - started;
  const shownAt = (await (
    await page.waitForFunction(grown, { view, target: shownBefore + BURST }, { polling: 'raf', timeout: 120_000 })
  ).jsonValue()) as number;
  const burstCpu = cpu.ms();
  await page.close();
  return {
    view,
    round,
    firstRender,
    firstCpu,
    shownBefore,
    burst: { ms: shownAt - started, fromLastMs: shownAt - last, cpu: burstCpu, applyMs, idlePerS },
  };
}

/** In-app: the operator's app settled on the overview, then the route changed as the menu's link does (no reload). */
async function measureInApp(browser: Browser, browserPid: number, view: string, to: string): Promise<{ ms: number; cpu: number }> {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  page.setDefaultTimeout(120_000);
  await page.context().addCookies([{ name: cookieName, value: cookieValue, url: h.url }]);
  await page.goto(`${h.url}/`);
  await page.locator('nav').first().waitFor();
  await page.waitForTimeout(2000);
  const cpu = startCpuMeter([browserPid], { self: false });
  const t0 = await page.evaluate((path) => {
    const t = performance.now();
    history.pushState(null, '', path);
    dispatchEvent(new PopStateEvent('popstate'));
    return t;
  }, to);
  const at = (await (await page.waitForFunction(ready, view, { polling: 'raf', timeout: 120_000 })).jsonValue()) as number;
  const ms = cpu.ms();
  await page.close();
  return { ms: at - t0, cpu: ms };
}

const load0 = loadavg()[0]!;
const operator = await login(h.url, 'operator');
const cookieName = operator.cookie.slice(0, operator.cookie.indexOf('='));
const cookieValue = operator.cookie.slice(operator.cookie.indexOf('=') + 1);
const openWall = (page: Page) => page.goto(`${h.url}/wall?kiosk=${KIOSK_TOKEN}&panels=alarms&sound=off`).then(() => undefined);
const openDesk = async (page: Page) => {
  await page.context().addCookies([{ name: cookieName, value: cookieValue, url: h.url }]);
  await page.goto(`${h.url}/alarms`);
};
const report = (m: Measure) =>
  console.log(
    `round ${m.round} ${m.view}${m.burst ? '' : ' (peer)'}: navigation → list ${m.firstRender.toFixed(0)} ms (${m.firstCpu.toFixed(0)} ms Chromium CPU), showing ${m.shownBefore}${m.burst ? `; burst of ${BURST} (applied in ${m.burst.applyMs} ms) → count ${m.burst.ms} ms (${m.burst.cpu.toFixed(0)} ms CPU)` : ''}`,
  );

const browser = await launchChromium();
// Playwright starts Chromium as a child of this process.
const browserPid = Number(execSync(`pgrep -o -P ${process.pid} chromium`).toString().trim());
const measures: Measure[] = [];
const peers: Measure[] = [];
const inApp: Record<string, Array<{ ms: number; cpu: number }>> = { wall: [], desk: [] };
const IN_APP = { wall: '/wall?panels=alarms&sound=off', desk: '/alarms' } as const;
let stormMs = 0;
let memBefore = memory();
let memAfter = memBefore;
try {
  // The peer: the same views, the same browser and load, before the storm (a short list).
  await raise(PEER);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [view, open] of [['wall', openWall] as const, ['desk', openDesk] as const]) {
      const m = await measureView(browser, browserPid, view, round, open, false);
      peers.push(m);
      report(m);
    }
  }
  memBefore = memory();
  const stormStarted = Date.now();
  await raise(STORM - PEER);
  stormMs = Date.now() - stormStarted;
  memAfter = memory();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [view, open] of [['wall', openWall] as const, ['desk', openDesk] as const]) {
      const m = await measureView(browser, browserPid, view, round, open);
      measures.push(m);
      report(m);
    }
    for (const view of ['wall', 'desk'] as const) {
      const m = await measureInApp(browser, browserPid, view, IN_APP[view]);
      inApp[view]!.push(m);
      console.log(`round ${round} ${view} in-app: overview → ${view} ${m.ms.toFixed(0)} ms (${m.cpu.toFixed(0)} ms Chromium CPU)`);
    }
  }
} finally {
  await browser.close();
}
const memEnd = memory();
const total = serial;
await h.close();

const load1 = loadavg()[0]!;
const f0 = (n: number) => (Math.abs(n) < 10 ? n.toFixed(1) : n.toFixed(0));
/** A burst's CPU less what the page spent anyway over the same time, per alarm of the burst. */
const beyondIdle = (b: { ms: number; cpu: number; idlePerS: number }) => (b.cpu - (b.idlePerS * b.ms) / 1000) / BURST;
const row = (label: string, xs: number[], peer?: number[]) =>
  `| ${label} | ${f0(pct(xs, 50))} ms | ${f0(Math.max(...xs))} ms | ${xs.map(f0).join(', ')} | ${peer ? `${f0(pct(peer, 50))} ms (${(pct(xs, 50) / pct(peer, 50)).toFixed(1)}×)` : '—'} |`;
const of = (view: string) => measures.filter((m) => m.view === view);
const peerOf = (view: string) => peers.filter((m) => m.view === view);
const bursts = (view: string) => of(view).map((m) => m.burst!);
const mix = Object.entries(severityMix)
  .map(([s, n]) => `${s} ${((100 * n) / total).toFixed(0)} %`)
  .join(', ');
const lines = [
  '',
  `## ${new Date().toISOString()} — \`${command}\``,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
  `**Loaded, shared machine** (a CI run and other engineers' work going on): load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end.`,
  '',
  `Storm: ${STORM.toLocaleString('en')} device alarms over ${devices.length} devices in ${new Set(devices.map((d) => d.ward)).size} wards, the rules for each`,
  `device's kind (severity mix ${mix}), raised through the alarms module (${stormMs} ms for the last`,
  `${(STORM - PEER).toLocaleString('en')}); each round then adds ${BURST} live per view, ${total.toLocaleString('en')} open alarms at the end. Chromium 1920×1080, one`,
  `fresh page per view; CPU is every Chromium process. Peer: the same views in the same browser with ${PEER} alarms, before the storm.`,
  '',
  '| measure | p50 | max | each round | peer p50 (ratio) |',
  '|---|---|---|---|---|',
  row(
    'wall: navigation → alarm list, banner and unacked count',
    of('wall').map((m) => m.firstRender),
    peerOf('wall').map((m) => m.firstRender),
  ),
  row(
    'wall, in-app (the app open on the overview, route changed) → alarm list, banner and unacked count',
    inApp.wall!.map((m) => m.ms),
  ),
  row(
    `wall: first of ${BURST} live alarms applied → count grown on the wall`,
    bursts('wall').map((b) => b.ms),
  ),
  row(
    `wall: last of ${BURST} live alarms applied → count grown on the wall`,
    bursts('wall').map((b) => b.fromLastMs),
  ),
  row(
    'desk: navigation → table and unacked badge',
    of('desk').map((m) => m.firstRender),
    peerOf('desk').map((m) => m.firstRender),
  ),
  row(
    'desk, in-app (the app open on the overview, menu route) → table and unacked badge',
    inApp.desk!.map((m) => m.ms),
  ),
  row(
    `desk: first of ${BURST} live alarms applied → badge grown`,
    bursts('desk').map((b) => b.ms),
  ),
  row(
    `desk: last of ${BURST} live alarms applied → badge grown`,
    bursts('desk').map((b) => b.fromLastMs),
  ),
  row(
    `server: applying the ${BURST} (both views)`,
    [...bursts('wall'), ...bursts('desk')].map((b) => b.applyMs),
  ),
  row(
    'Chromium CPU, wall first render',
    of('wall').map((m) => m.firstCpu),
    peerOf('wall').map((m) => m.firstCpu),
  ),
  row(
    `Chromium CPU, wall burst of ${BURST}`,
    bursts('wall').map((b) => b.cpu),
  ),
  row(
    'Chromium CPU, wall in-app navigation',
    inApp.wall!.map((m) => m.cpu),
  ),
  row(
    'Chromium CPU, desk in-app navigation',
    inApp.desk!.map((m) => m.cpu),
  ),
  row(
    'Chromium CPU, desk first render',
    of('desk').map((m) => m.firstCpu),
    peerOf('desk').map((m) => m.firstCpu),
  ),
  row(
    `Chromium CPU, desk burst of ${BURST}`,
    bursts('desk').map((b) => b.cpu),
  ),
  row(
    'Chromium CPU per second, wall settled with nothing arriving',
    bursts('wall').map((b) => b.idlePerS),
  ),
  row(
    'Chromium CPU per second, desk settled with nothing arriving',
    bursts('desk').map((b) => b.idlePerS),
  ),
  row(
    'Chromium CPU per live alarm beyond the settled page, wall',
    bursts('wall').map((b) => beyondIdle(b)),
  ),
  row(
    'Chromium CPU per live alarm beyond the settled page, desk',
    bursts('desk').map((b) => beyondIdle(b)),
  ),
  '',
  `Unacknowledged count shown before each burst: wall ${of('wall')
    .map((m) => m.shownBefore)
    .join(', ')}; desk ${of('desk')
    .map((m) => m.shownBefore)
    .join(', ')}.`,
  '',
  `Dashboard server memory (this process, in which the server runs; after a forced GC when \`--expose-gc\`): before the storm`,
  `(${PEER} alarms, peer pages served) RSS ${mib(memBefore.rss)} MiB, heap ${mib(memBefore.heap)} MiB; with ${STORM.toLocaleString('en')} alarms RSS ${mib(memAfter.rss)} MiB,`,
  `heap ${mib(memAfter.heap)} MiB; after the rounds (${total.toLocaleString('en')} alarms, browser clients served) RSS ${mib(memEnd.rss)} MiB, heap ${mib(memEnd.heap)} MiB.`,
  '',
  'Goal (issue #13): ≤ 500 ms.',
];
appendFileSync(join(import.meta.dirname, 'RESULTS.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
process.exit(0);
