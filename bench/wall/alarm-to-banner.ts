/**
 * Threshold crossing at a sensor → banner on the wall (not a test): `npx tsx bench/wall/alarm-to-banner.ts`.
 * Writes bench/wall/RESULTS.md.
 *
 * Real mosquitto, the SQLite store, ingest with the alarm detector (default rules), the dashboard with the
 * alarms module and the built web app, Debian's Chromium showing the wall. While the city's other stations
 * report at their own rate (one reading per station every poll interval, as gateways publish them), one
 * station's batch crosses alarm level 3; the time from publishing that batch to the banner on the wall is
 * measured, then the alarm is acknowledged (the banner goes) and the next station is flooded.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { topics } from '@tamky/protocol';
import { createLogger, loadLimits } from '@tamky/service-kit';
import { startIngest } from '@tamky/ingest';
import { startAlarmDetection } from '@tamky/ingest/alarms';
import { createAlarmsModule } from '../../dashboard/server/src/alarms';
import { api, KIOSK_TOKEN, login, mqttClient, startHarness } from '../../dashboard/server/test/helpers';
import { DIST_DIR, ensureBuilt, launchBrowser, REPO_DIR } from '../../dashboard/web/test/browser';
import { startCpuMeter } from '../support/cpu-meter';

const ROUNDS = Number(process.env.ROUNDS ?? 0) || undefined;
const log = createLogger('bench-wall', { level: 'silent' });
const lines: string[] = [];
const out = (s = '') => {
  console.log(s);
  lines.push(s);
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

ensureBuilt();
const h = await startHarness({
  modules: [createAlarmsModule({ rulesFile: join(REPO_DIR, 'config/rules/default.yaml'), tickMs: 500 })],
  config: { webDist: DIST_DIR },
});
// Started after the detector, which publishes through it.
let ingestHandle: Awaited<ReturnType<typeof startIngest>> | undefined = undefined;
const detection = await startAlarmDetection({
  mqtt: { url: h.mqttUrl },
  city: h.city,
  aqiLevels: loadLimits(join(REPO_DIR, 'config/limits')).vnAqi.levels,
  logger: log,
  publish: async (topic, event) => ingestHandle!.publish(topic, event, { qos: 1 }),
});
while (detection.rulesVersion() < 1) await new Promise((r) => setTimeout(r, 100));
ingestHandle = await startIngest(
  { mqtt: { url: h.mqttUrl, clientId: 'ingest-bench-wall' }, limitsDir: join(REPO_DIR, 'config/limits') },
  { store: h.store, city: h.city, logger: log, observers: [detection.detector] },
);
const gw = await mqttClient(h.mqttUrl);
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
await page.goto(`${h.url}/wall?kiosk=${KIOSK_TOKEN}&sound=off`);
await page.locator('.wall').waitFor({ timeout: 120_000 });
const operator = await login(h.url, 'operator');

// Background: every water station reports its normal level at its poll interval, as the city does.
const stations = h.city.devices.filter((d) => d.kind === 'water_level' && d.alarmLevels);
let seq = 0;
const flooded = new Set<string>();
const publish = (device: (typeof stations)[number], level: number) =>
  gw.publishAsync(
    topics.telemetry(device.gateway),
    JSON.stringify({
      v: 1,
      gateway: device.gateway,
      readings: [{ device: device.id, ts: Date.now(), seq: seq++, values: { level: { v: level, u: 'm' } } }],
    }),
    { qos: 1 },
  );
const background = setInterval(() => {
  for (const d of stations) if (!flooded.has(d.id)) void publish(d, d.alarmLevels![0] - 1);
}, stations[0]?.pollIntervalMs ?? 10_000);

const delays: number[] = [];
// This process: mosquitto's clients, ingest, the detector, the dashboard (the browser's own CPU is not counted).
const cpu = startCpuMeter();
for (const d of stations.slice(0, ROUNDS ?? stations.length)) {
  flooded.add(d.id);
  const before = Date.now();
  await publish(d, d.alarmLevels![2] + 0.3);
  await page.locator(`[data-testid="alarm-banner"]`).filter({ hasText: d.name }).waitFor({ timeout: 60_000 });
  delays.push(Date.now() - before);
  const { alarms } = (await (await api(h.url, operator, 'GET', '/api/alarms?state=active')).json()) as { alarms: Array<{ id: string }> };
  for (const a of alarms) await api(h.url, operator, 'POST', `/api/alarms/${a.id}/ack`, {});
  await page.locator('[data-testid="alarm-banner"]').waitFor({ state: 'detached', timeout: 60_000 });
}
clearInterval(background);
const cpuMsPerFlood = cpu.ms() / delays.length;

out('# Wall: threshold crossing at a sensor → banner on the wall');
out();
out(
  `Command: \`${ROUNDS ? `ROUNDS=${ROUNDS} ` : ''}npx tsx bench/wall/alarm-to-banner.ts\`. ${delays.length} floods, one water station each (alarm level 3 crossed in one batch), while the city's other water stations report at their poll interval; real mosquitto, ingest with the alarm detector (default rules), the dashboard, Chromium at 1920×1080. Load average at the end ${loadavg()[0]!.toFixed(1)} (shared machine).`,
);
out();
out('| | p50 | p99 | max | CPU ms per flood (this process: ingest, detector, dashboard, background city) |');
out('|---|---|---|---|---|');
out(
  `| batch published → banner on the wall | ${pct(delays, 50)} ms | ${pct(delays, 99)} ms | ${Math.max(...delays)} ms | ${cpuMsPerFlood.toFixed(0)} |`,
);
out();
out(`Goal (issue #13): p99 ≤ 2 s. Each: ${delays.join(', ')} ms.`);
writeFileSync(join(REPO_DIR, 'bench/wall/RESULTS.md'), `${lines.join('\n')}\n`);

await browser.close();
await gw.endAsync();
await ingestHandle.close();
await detection.close();
await h.close();
