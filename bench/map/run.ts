/**
 * Geographic map at city scale (not a test): `npx tsx bench/map/run.ts [--devices 20000] [--rounds 3]`.
 * Writes bench/map/RESULTS.md.
 *
 * The real dashboard server with the Tam Kỳ city grown to N devices (copies of its own devices, spread around
 * the ward centres), the wall's map panel in Debian Chromium at 1920×1080 (WebGL through SwiftShader: no GPU
 * here), per round in a fresh page:
 *  - first render: navigation start → the map's first `idle` with every device drawn, and map creation → idle;
 *  - pan and zoom: frame intervals (requestAnimationFrame) while the map eases across the city and zooms in and
 *    out, p50 and p95;
 *  - CPU time of every Chromium process (browser, renderer, GPU) during first render and during pan/zoom;
 *  - the peer: the schematic map (?map=schematic, one SVG element per device), navigation → every device drawn.
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '@tamky/test-support';
import type { CityModel } from '@tamky/protocol';
import { KIOSK_TOKEN, loadCity, startHarness } from '../../dashboard/server/test/helpers';
import { DIST_DIR, ensureBuilt, REPO_DIR } from '../../dashboard/web/test/browser';
import { processCpuMs } from '../support/proc-cpu';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const DEVICES = Number(values.devices);
const ROUNDS = Number(values.rounds);

/** The city's own devices copied until there are `n`, each within ~1.2 km of its ward's centre (seeded, repeatable). */
function grownCity(base: CityModel, n: number): CityModel {
  let seed = 42;
  const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const devices = Array.from({ length: n }, (_, i) => {
    const template = base.devices[i % base.devices.length]!;
    const ward = base.wards[i % base.wards.length]!;
    const gateway = base.gateways.find((g) => g.ward === ward.id)!;
    const r = 0.011 * Math.sqrt(rand());
    const a = 2 * Math.PI * rand();
    return {
      ...template,
      id: `bench-${i}`,
      name: `Bench ${i}`,
      ward: ward.id,
      gateway: gateway.id,
      lat: ward.lat + r * Math.sin(a),
      lon: ward.lon + r * Math.cos(a),
      tags: [],
    };
  });
  return { ...base, devices };
}

/** CPU time so far of a process and each of its descendants, ms, by pid. */
function treeCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  const walk = (p: number) => {
    try {
      out.set(p, processCpuMs(p));
    } catch {
      return; // exited
    }
    const kids = execSync(`ps -o pid= --ppid ${p} || true`).toString().trim().split(/\s+/).filter(Boolean).map(Number);
    kids.forEach(walk);
  };
  walk(pid);
  return out;
}

/** CPU used since `before` by the processes alive now (a process started since counts whole; one that exited, not at all). */
function cpuSince(pid: number, before: Map<number, number>): number {
  let total = 0;
  for (const [p, ms] of treeCpu(pid)) total += ms - (before.get(p) ?? 0);
  return total;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const median = (xs: number[]) => pct(xs, 50);

// Records when the map instance appears and when it is first idle with its sources loaded.
const INIT = `
(() => {
  const look = () => {
    const el = document.querySelector('.geo-map-canvas');
    const map = el && el.maplibre;
    if (!map) return requestAnimationFrame(look);
    window.__bench = { created: performance.now() };
    const ready = () => {
      if (el.dataset.ready === 'true' && map.isSourceLoaded('devices') && map.areTilesLoaded()) window.__bench.idle = performance.now();
      else map.once('idle', ready);
    };
    map.once('idle', ready);
  };
  look();
})();`;

async function firstRender(browser: Browser, url: string, pid: number) {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.addInitScript(INIT);
  const cpu0 = treeCpu(pid);
  await page.goto(`${url}/wall?kiosk=${KIOSK_TOKEN}&panels=map&sound=off`);
  await page.waitForFunction(() => (window as unknown as { __bench?: { idle?: number } }).__bench?.idle !== undefined, null, {
    timeout: 300_000,
    polling: 200,
  });
  const cpu = cpuSince(pid, cpu0);
  const t = await page.evaluate(() => (window as unknown as { __bench: { created: number; idle: number } }).__bench);
  const drawn = await page.evaluate(() => {
    const map = (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre;
    return map.querySourceFeatures('devices').length;
  });
  return { page, navToIdle: t.idle, createdToIdle: t.idle - t.created, cpu, drawn };
}

// In-page code as text: tsx would wrap named functions in a helper the page does not have.
const PAN_ZOOM = `
(async () => {
  const map = document.querySelector('.geo-map-canvas').maplibre;
  const out = [];
  let last = performance.now();
  let running = true;
  const tick = (t) => {
    out.push(t - last);
    last = t;
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame((t) => {
    last = t;
    requestAnimationFrame(tick);
  });
  const ease = (o) =>
    new Promise((done) => {
      map.once('moveend', () => done());
      map.easeTo({ ...o, duration: 2500 });
    });
  const c = map.getCenter();
  const z = map.getZoom();
  await ease({ center: [c.lng + 0.03, c.lat + 0.015] });
  await ease({ center: [c.lng, c.lat] });
  await ease({ zoom: z + 2 });
  await ease({ zoom: z });
  running = false;
  return out.slice(1);
})()`;

async function panZoom(page: Page, pid: number) {
  const cpu0 = treeCpu(pid);
  const frames = (await page.evaluate(PAN_ZOOM)) as number[];
  return { frames, cpu: cpuSince(pid, cpu0) };
}

async function schematic(browser: Browser, url: string, n: number, pid: number) {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const cpu0 = treeCpu(pid);
  await page.goto(`${url}/wall?kiosk=${KIOSK_TOKEN}&panels=map&sound=off&map=schematic`);
  await page.waitForFunction((count) => document.querySelectorAll('.city-map [data-device]').length === count, n, {
    timeout: 300_000,
    polling: 200,
  });
  // The next frame after the elements exist: they are painted.
  const ms = await page.evaluate(() => new Promise<number>((done) => requestAnimationFrame(() => done(performance.now()))));
  const cpu = cpuSince(pid, cpu0);
  await page.close();
  return { ms, cpu };
}

ensureBuilt();
const city = grownCity(loadCity(), DEVICES);
const h = await startHarness({ city, config: { webDist: DIST_DIR, map: { wardAreas: join(REPO_DIR, 'config/tam-ky/wards.geojson') } } });
const browser = await launchChromium();
// Playwright starts Chromium as a child of this process.
const browserPid = Number(execSync(`pgrep -o -P ${process.pid} chromium`).toString().trim());
const load0 = loadavg()[0]!;
const rounds: {
  navToIdle: number;
  createdToIdle: number;
  cpu: number;
  drawn: number;
  frames: number[];
  panCpu: number;
  panS: number;
  schematic: number;
  schematicCpu: number;
}[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const first = await firstRender(browser, h.url, browserPid);
    const pz = await panZoom(first.page, browserPid);
    await first.page.close();
    const sch = await schematic(browser, h.url, DEVICES, browserPid);
    const panS = pz.frames.reduce((s, f) => s + f, 0) / 1000;
    rounds.push({ ...first, frames: pz.frames, panCpu: pz.cpu, panS, schematic: sch.ms, schematicCpu: sch.cpu });
    console.log(
      `round ${r + 1}: first render ${first.navToIdle.toFixed(0)} ms (map ${first.createdToIdle.toFixed(0)} ms, ${first.drawn} device features across tiles), pan/zoom p50 ${pct(pz.frames, 50).toFixed(1)} ms p95 ${pct(pz.frames, 95).toFixed(1)} ms over ${pz.frames.length} frames, schematic ${sch.ms.toFixed(0)} ms`,
    );
  }
} finally {
  await browser.close();
  await h.close();
}

const frames = rounds.flatMap((r) => r.frames);
const load1 = loadavg()[0]!;
const f0 = (n: number) => n.toFixed(0);
const rows = [
  `| navigation → map idle, every device drawn | ${f0(median(rounds.map((r) => r.navToIdle)))} ms | ${rounds.map((r) => f0(r.navToIdle)).join(', ')} |`,
  `| map created → idle (MapLibre's own share) | ${f0(median(rounds.map((r) => r.createdToIdle)))} ms | ${rounds.map((r) => f0(r.createdToIdle)).join(', ')} |`,
  `| Chromium CPU during first render | ${f0(median(rounds.map((r) => r.cpu)))} ms | ${rounds.map((r) => f0(r.cpu)).join(', ')} |`,
  `| pan/zoom frame interval p50 | ${pct(frames, 50).toFixed(1)} ms | ${rounds.map((r) => pct(r.frames, 50).toFixed(1)).join(', ')} |`,
  `| pan/zoom frame interval p95 | ${pct(frames, 95).toFixed(1)} ms | ${rounds.map((r) => pct(r.frames, 95).toFixed(1)).join(', ')} |`,
  `| Chromium CPU per second of pan/zoom | ${f0(median(rounds.map((r) => r.panCpu / r.panS)))} ms/s | ${rounds.map((r) => f0(r.panCpu / r.panS)).join(', ')} |`,
  `| Chromium CPU per pan/zoom frame (load-independent) | ${f0(median(rounds.map((r) => r.panCpu / r.frames.length)))} ms | ${rounds.map((r) => f0(r.panCpu / r.frames.length)).join(', ')} |`,
  `| peer: schematic SVG, navigation → every device drawn | ${f0(median(rounds.map((r) => r.schematic)))} ms | ${rounds.map((r) => f0(r.schematic)).join(', ')} |`,
  `| peer: Chromium CPU, schematic first render | ${f0(median(rounds.map((r) => r.schematicCpu)))} ms | ${rounds.map((r) => f0(r.schematicCpu)).join(', ')} |`,
];
const text = [
  '# Geographic map at city scale',
  '',
  `Command: \`npx tsx bench/map/run.ts --devices ${DEVICES} --rounds ${ROUNDS}\` (${new Date().toISOString()}). The real dashboard server with`,
  `${DEVICES.toLocaleString('en')} devices in the city model, the wall's map panel (\`/wall?panels=map\`, kiosk) in Debian Chromium at 1920×1080,`,
  'WebGL through SwiftShader (software: no GPU on this machine), no basemap. Each round a fresh page. Pan/zoom: four 2.5 s eases',
  '(pan across the city and back, zoom in two levels and out) with frame intervals from requestAnimationFrame. CPU: user + system',
  'time of every Chromium process (browser, renderer, GPU/SwiftShader) over the interval.',
  '',
  `**Shared, loaded machine** (2 cores, ~9 engineers): load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end. The`,
  'absolute times are inflated by the load and by software WebGL; the schematic SVG map in the same run is the peer.',
  '',
  '| measure | median | each round |',
  '|---|---|---|',
  ...rows,
  '',
].join('\n');
writeFileSync(join(import.meta.dirname, 'RESULTS.md'), text);
console.log(`\n${text}`);
process.exit(0);
