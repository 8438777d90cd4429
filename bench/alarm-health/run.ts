/**
 * Alarm-system health (ISA-18.2 / EEMUA 191) of the default rules (not a test): `npx tsx bench/alarm-health/run.ts
 * [--day-hours 24] [--storm-minutes 60] [--scale small|city] [--rules config/rules/default.yaml] [--only day|storm]`. Appends to
 * bench/alarm-health/RESULTS.md.
 *
 * Two accelerated runs, each through the real pieces on a simulated clock: the simulated devices (firmware-sim, read
 * and decoded as their gateway would, as the demo's backfill does), ingest's derived values (Deriver) and alarm
 * detector (the rules file), the dashboard's alarms module (lifecycle, gateway correlation, burst groups, reopen
 * window) in the real dashboard server, and its health API (`GET /api/alarms/health`) for the figures.
 *  - day: Tam Kỳ (config/tam-ky/city.yaml) on a normal day, every device read at its own poll interval.
 *  - storm: bench/faults' city (small: 20 gateways × 20 devices, poll 5 s; city: 208 × 100, poll 30 s, for a quiet
 *    machine) with the faults of its `all` run as the
 *    detector sees them (broker, ingest and gateway-process kills, the link cut and the store refusing hold readings
 *    back; a gateway process's kill takes its gateways offline; two gateways with skewed clocks), then the demo's
 *    `storm` scenario (every river sensor floods, three feeders go dark, a gateway loses power).
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceExpectedIntervalMs, type AlarmEvent, type AlarmHealth, type CityModel, type StoredReading } from '@tamky/protocol';
import { Deriver, loadLimits } from '@tamky/ingest';
import { createAlarmDetector, loadRules, type AlarmDetector } from '@tamky/ingest/alarms';
import { DEFAULT_PROFILES_DIR, profileLoader } from '@tamky/edge';
import type { SimDevice } from '@tamky/firmware-sim';
import { createAlarmsModule } from '../../dashboard/server/src/alarms';
import { api, loadCity, login, startHarness } from '../../dashboard/server/test/helpers';
import { simulatedDevice } from '../../demo/src/backfill';
import { faultCity, REPO_ROOT } from '../faults/city';

const { values } = parseArgs({
  options: {
    'day-hours': { type: 'string', default: '24' },
    'storm-minutes': { type: 'string', default: '60' },
    scale: { type: 'string', default: 'small' },
    rules: { type: 'string', default: 'config/rules/default.yaml' },
    only: { type: 'string' },
  },
});
const DAY_HOURS = Number(values['day-hours']);
const STORM_MINUTES = Number(values['storm-minutes']);
/** bench/faults' scales (bench/faults/run.ts SCALES): the city one is for a quiet machine (≈ 2.5 M readings an hour). */
const SCALES = {
  small: { gateways: 20, devicesPerGateway: 20, pollMs: 5_000, minutes: 2, gatewaysPerProcess: 10 },
  city: { gateways: 208, devicesPerGateway: 100, pollMs: 30_000, minutes: 10, gatewaysPerProcess: 52 },
} as const;
const SCALE = SCALES[values.scale as keyof typeof SCALES];
if (!SCALE) throw new Error(`--scale must be ${Object.keys(SCALES).join(' or ')}`);
const RULES_FILE = join(REPO_ROOT, values.rules!);
const command = `npx tsx bench/alarm-health/run.ts --day-hours ${DAY_HOURS} --storm-minutes ${STORM_MINUTES} --scale ${values.scale} --rules ${values.rules}${values.only ? ` --only ${values.only}` : ''}`;

const MIN = 60_000;
const limits = loadLimits(join(REPO_ROOT, 'config/limits'));
const rules = loadRules(RULES_FILE);

/** Readings of these gateways are held back over [start, end) and arrive at `end`, as an outage's backlog does. */
interface Hold {
  start: number;
  end: number;
  gateways: 'all' | Set<string>;
  /** The gateways' last will: offline at `start`, online again at `end`. */
  offline?: boolean;
  /** Ingest itself restarted: a new detector (its conditions are rebuilt from what arrives). */
  restartDetector?: boolean;
  name: string;
}

interface Run {
  city: CityModel;
  from: number;
  to: number;
  holds: Hold[];
  /** Gateway → offset of its clock (ms). */
  skew?: Map<string, number>;
  /** Things that happen to the simulated city at a time (faults injected into devices, a gateway losing power). */
  events?: Array<{ at: number; name: string; apply(sims: Map<string, SimDevice>, down: Set<string>): void }>;
}

interface Outcome {
  health: AlarmHealth;
  /** Annunciations (raised or reopened on their own) per 10-minute period, from the health API per period. */
  per10: number[];
  events: number;
  readings: number;
  cpuMs: number;
  wallMs: number;
}

async function simulate(label: string, run: Run): Promise<Outcome> {
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  let now = run.from;
  const alarms = createAlarmsModule({ rulesFile: RULES_FILE, tickMs: 1000 });
  const h = await startHarness({ modules: [alarms], city: run.city, now: () => now });
  const clock = { t: run.from };
  const profileOf = profileLoader(DEFAULT_PROFILES_DIR);
  // Devices by their poll interval (s) and phase: each second reads only the devices due then.
  const due = new Map<
    number,
    Map<number, Array<{ id: string; kind: string; gateway: string; ward: string; read(t: number): Record<string, number> }>>
  >();
  const sims = new Map<string, SimDevice>();
  run.city.devices.forEach((d, i) => {
    const everyS = Math.max(1, Math.round(d.pollIntervalMs / 1000));
    const dev = simulatedDevice(d, run.city, clock, profileOf, everyS * 1000);
    sims.set(d.id, dev.sim);
    const phases = due.get(everyS) ?? due.set(everyS, new Map()).get(everyS)!;
    const phase = i % everyS;
    const list = phases.get(phase) ?? phases.set(phase, []).get(phase)!;
    list.push({ id: d.id, kind: d.kind, gateway: d.gateway, ward: d.ward, read: dev.read });
  });
  const deriver = new Deriver(limits, run.city);
  const queue: AlarmEvent[] = [];
  let events = 0;
  const newDetector = (): AlarmDetector =>
    createAlarmDetector({
      rules,
      city: run.city,
      aqiLevels: limits.vnAqi.levels,
      publish: async (_topic, e) => void queue.push(e),
    });
  let detector = newDetector();
  /** Detector events into the dashboard's alarms module, as they arrive over MQTT. */
  const drain = async () => {
    while (queue.length) {
      const e = queue.shift()!;
      events++;
      await alarms.onMqttMessage!(`city/v1/alarm/${e.ruleId}/${e.sourceId}`, Buffer.from(JSON.stringify(e)));
    }
  };
  const held = new Map<Hold, StoredReading[]>();
  const down = new Set<string>();
  const pendingEvents = [...(run.events ?? [])].sort((a, b) => a.at - b.at);
  let readings = 0;
  let lastLog = started;
  for (let t = run.from; t < run.to; t += 1000) {
    now = t;
    clock.t = t;
    for (const hold of run.holds) {
      if (t === hold.start) {
        held.set(hold, []);
        if (hold.restartDetector) detector = newDetector();
        if (hold.offline && hold.gateways !== 'all')
          for (const gw of hold.gateways) detector.onGatewayStatus?.({ gateway: gw, state: 'offline', ts: t, reason: hold.name }, t);
      }
      if (t === hold.end) {
        if (hold.offline && hold.gateways !== 'all')
          for (const gw of hold.gateways) detector.onGatewayStatus?.({ gateway: gw, state: 'online', ts: t }, t);
        const backlog = held.get(hold) ?? [];
        held.delete(hold);
        if (backlog.length) await detector.onReadings([...backlog, ...deriver.ingest(backlog)], t);
      }
    }
    while (pendingEvents.length && pendingEvents[0]!.at <= t) {
      const e = pendingEvents.shift()!;
      e.apply(sims, down);
      for (const gw of down) detector.onGatewayStatus?.({ gateway: gw, state: 'offline', ts: t, reason: e.name }, t);
    }
    const sec = Math.round((t - run.from) / 1000);
    const batch: StoredReading[] = [];
    for (const [everyS, phases] of due) {
      for (const d of phases.get(sec % everyS) ?? []) {
        if (down.has(d.gateway)) continue;
        const values = d.read(t);
        if (Object.keys(values).length === 0) continue;
        const ts = t + (run.skew?.get(d.gateway) ?? 0);
        const r: StoredReading = { kind: d.kind, device: d.id, gateway: d.gateway, ward: d.ward, ts, seq: 0, values };
        readings++;
        const hold = [...held.keys()].find((x) => x.gateways === 'all' || x.gateways.has(d.gateway));
        if (hold) held.get(hold)!.push(r);
        else batch.push(r);
      }
    }
    if (batch.length) {
      batch.sort((a, b) => (a.gateway < b.gateway ? -1 : a.gateway > b.gateway ? 1 : 0));
      await detector.onReadings([...batch, ...deriver.ingest(batch)], t);
    }
    if (sec % 5 === 0) await detector.tick?.(t);
    await drain();
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      const done = (t - run.from) / (run.to - run.from);
      const cpuS = ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(cpu0));
      // CPU so far and at this rate for the whole run: on a quiet machine that is about its wall time.
      console.log(
        `${label}: ${(100 * done).toFixed(0)} % simulated, ${events} alarm events, ${cpuS.toFixed(0)} s CPU (≈ ${(cpuS / Math.max(done, 0.01) / 60).toFixed(1)} min for the run)`,
      );
    }
  }
  now = run.to;
  const admin = await login(h.url, 'admin');
  const health = async (from: number, to: number) =>
    (await (await api(h.url, admin, 'GET', `/api/alarms/health?from=${from}&to=${to}`)).json()) as AlarmHealth;
  const whole = await health(run.from, run.to);
  const per10: number[] = [];
  for (let t = run.from; t < run.to; t += 10 * MIN) per10.push((await health(t, Math.min(run.to, t + 10 * MIN))).total);
  await h.close();
  const cpu = process.cpuUsage(cpu0);
  return { health: whole, per10, events, readings, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: Date.now() - started };
}

/** Local midnight of yesterday in the city's zone (Asia/Ho_Chi_Minh, UTC+7): a whole simulated day, night to night. */
function yesterdayMidnight(): number {
  const offset = 7 * 60 * MIN;
  const day = Math.floor((Date.now() + offset) / 86_400_000) - 1;
  return day * 86_400_000 - offset;
}

function dayRun(): Run {
  const from = yesterdayMidnight();
  return { city: loadCity(), from, to: from + DAY_HOURS * 60 * MIN, holds: [] };
}

/** bench/faults `--scenario all` (SQLite store) at `--scale`: its faults on its timeline, then the demo's storm. */
function stormRun(): Run {
  const city = faultCity({ gateways: SCALE.gateways, devicesPerGateway: SCALE.devicesPerGateway, pollIntervalMs: SCALE.pollMs });
  const from = yesterdayMidnight() + 20 * 60 * MIN; // 20:00 local: the storm comes at night
  const warm = 10 * MIN;
  const faultsStart = from + warm;
  // As bench/faults/run.ts: its minutes, 20 % warm-up (≥ 20 s), the scenarios in slots, kills 5 s, windows 40 % of a slot.
  const total = SCALE.minutes * MIN;
  const warmup = Math.max(20_000, total * 0.2);
  const names = ['kill_broker', 'kill_ingest', 'kill_gateway', 'link_cut', 'store_refusing', 'clock_skew', 'garbage_flood'];
  const slot = (total - warmup) / names.length;
  const at = (i: number) => Math.round((faultsStart + warmup + i * slot) / 1000) * 1000;
  const window = Math.round((slot * 0.4) / 1000) * 1000;
  const firstProcess = new Set(city.gateways.slice(0, SCALE.gatewaysPerProcess).map((g) => g.id));
  const holds: Hold[] = [
    { name: 'kill_broker', start: at(0), end: at(0) + 5000, gateways: 'all' },
    { name: 'kill_ingest', start: at(1), end: at(1) + 5000, gateways: 'all', restartDetector: true },
    { name: 'kill_gateway', start: at(2), end: at(2) + 5000, gateways: firstProcess, offline: true },
    { name: 'link_cut', start: at(3), end: at(3) + window, gateways: 'all' },
    { name: 'store_refusing', start: at(4), end: at(4) + window, gateways: 'all' },
  ];
  const skew = new Map([
    [city.gateways[1]!.id, 10 * MIN],
    [city.gateways[2]!.id, -120 * MIN],
  ]);
  const stormAt = faultsStart + total + 10 * MIN; // 20:30 local
  const water = city.devices.filter((d) => d.kind === 'water_level').map((d) => d.id);
  const lights = city.devices.filter((d) => d.kind === 'street_light').slice(0, 3);
  return {
    city,
    from,
    to: from + Math.max(STORM_MINUTES, 60) * MIN,
    holds,
    skew,
    events: [
      {
        at: stormAt,
        name: 'storm',
        apply(sims, down) {
          // As demo/src/scenarios.ts `storm`: every river rises, three feeders go dark, the last gateway loses power.
          for (const id of water) sims.get(id)?.injectFault({ type: 'flood', riseMinutes: 10 });
          for (const l of lights) sims.get(l.id)?.injectFault({ type: 'power_outage' });
          down.add(city.gateways.at(-1)!.id);
        },
      },
    ],
  };
}

const f1 = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 1 });
const f2 = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 2 });
const pct = (n: number) => `${(100 * n).toFixed(0)} %`;
function table(label: string, run: Run, o: Outcome): string[] {
  const h = o.health;
  const hours = (run.to - run.from) / (60 * MIN);
  const intervals = [...new Set(run.city.devices.map((d) => deviceExpectedIntervalMs(d) / 1000))].sort((a, b) => a - b);
  return [
    `### ${label}`,
    '',
    `${run.city.devices.length.toLocaleString('en')} devices behind ${run.city.gateways.length} gateways (expected intervals ${intervals.join(', ')} s), ${f1(hours)} simulated hours from ${new Date(run.from).toISOString()}; ${o.readings.toLocaleString('en')} readings, ${o.events.toLocaleString('en')} detector events; simulated in ${(o.wallMs / 1000).toFixed(0)} s wall, ${(o.cpuMs / 1000).toFixed(0)} s CPU (this process: simulator, detector, dashboard).`,
    '',
    '| figure (operator positions: 1) | value |',
    '|---|---|',
    `| alarms annunciated (raised or reopened on their own) | ${h.total} |`,
    `| suppressed by correlation: under their gateway / folded into a burst group / shelved | ${h.suppressed.gateway} / ${h.suppressed.group} / ${h.suppressed.shelved} |`,
    `| per position per 10 min (average) | ${f2(h.perPosition.per10Min)} |`,
    `| per position per day | ${f1(h.perPosition.perDay)} |`,
    `| 10-min periods in flood (> ${h.settings.floodPer10Min}) | ${h.floodPeriods} of ${h.periods} (${pct(h.floodShare)}) |`,
    `| peak 10 min | ${h.peak.count} (from ${new Date(h.peak.start).toISOString()}) |`,
    `| chattering (rule, source) | ${h.chattering.length}${h.chattering.length ? `: ${h.chattering.map((c) => `${c.ruleId} ${c.sourceId} ×${c.count}`).join(', ')}` : ''} |`,
    `| fleeting (cleared by itself within ${h.settings.fleetingS} s) | ${h.fleeting} |`,
    `| stale (open > ${h.settings.staleHours} h) | ${h.stale.length} |`,
    `| priority mix (guide) | ${h.priorityMix.map((p) => `${p.priority} ${pct(p.share)} (${pct(p.guide)})`).join(', ')} |`,
    `| bad actors: rules | ${h.badActors.rules.map((r) => `${r.id} ${r.count}`).join(', ') || '—'} |`,
    `| bad actors: sources | ${
      h.badActors.sources
        .slice(0, 5)
        .map((r) => `${r.id} ${r.count}`)
        .join(', ') || '—'
    } |`,
    '',
    `Annunciated per 10-min period: ${o.per10.join(' ')}`,
    '',
  ];
}

const load0 = loadavg()[0]!;
const sections: string[] = [];
const summary: string[] = [];
if (values.only !== 'storm') {
  const run = dayRun();
  const o = await simulate('day', run);
  sections.push(...table('A normal simulated day, Tam Kỳ, default rules', run, o));
  const h = o.health;
  summary.push(
    `normal day: ${f2(h.perPosition.per10Min)} per 10 min (goal ≤ 1), ${h.floodPeriods} flood periods (goal 0), ${h.chattering.length} chattering (goal 0)`,
  );
}
if (values.only !== 'day') {
  const run = stormRun();
  const o = await simulate('storm', run);
  sections.push(
    ...table(
      `bench/faults ${values.scale} scale (its \`all\` faults; ${SCALE.gateways} gateways × ${SCALE.devicesPerGateway} devices, poll ${SCALE.pollMs / 1000} s) and the demo storm, default rules`,
      run,
      o,
    ),
  );
  summary.push(
    `fault storm: max ${Math.max(...o.per10)} alarms per 10 min at the desk (goal ≤ 10), ${o.health.floodPeriods} flood periods`,
  );
}
const load1 = loadavg()[0]!;
const lines = [
  '',
  `## ${new Date().toISOString()} — \`${command}\``,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (shared machine; the figures are counts on a simulated clock and do not depend on it).`,
  '',
  ...sections,
  `Summary: ${summary.join('; ')}.`,
];
appendFileSync(join(import.meta.dirname, 'RESULTS.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
process.exit(0);
