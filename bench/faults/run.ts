/**
 * Fault-injection harness: load, faults, then an exact account of every reading.
 *
 *   npx tsx bench/faults/run.ts [--scale small|tiny|city] [--scenario <name>|all|each] [--minutes N] [--store sqlite|influxdb|victoriametrics|all]
 *                               [--poll-ms N] [--fault-seconds N] [--no-append]
 *
 * `<name>` is one of kill_broker, kill_ingest, kill_gateway, kill_influxdb, link_cut, store_refusing,
 * clock_skew, garbage_flood. `all` runs every fault one after another in ONE run (one account);
 * `each` runs every scenario in its own fresh environment. Results are appended to bench/faults/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TimeSeriesStore } from '@tamky/protocol';
import { tempDir } from '@tamky/test-support';
import { faultCity, REPO_ROOT } from './city';
import { Environment, type StoreKind } from './environment';
import { checkLoss, summaryLine, type LossReport } from './loss-checker';
import { readOutboxDir } from './outbox-seqs';
import { scenarios, skewedGateways, steppedGateways, type Scenario } from './scenarios';
import { formatMs, percentile } from './stats';

const SCALES = {
  small: { gateways: 20, devicesPerGateway: 20, pollMs: 5_000, minutes: 2, gatewaysPerProcess: 10 },
  // For runs on a shared machine: clock_step polls every second (--poll-ms 1000).
  tiny: { gateways: 4, devicesPerGateway: 10, pollMs: 1_000, minutes: 2, gatewaysPerProcess: 2 },
  // 13 wards × 16 gateways = 208 gateways × 100 devices = 20,800 devices; at a 30 s poll ≈ 690 readings/s.
  city: { gateways: 208, devicesPerGateway: 100, pollMs: 30_000, minutes: 10, gatewaysPerProcess: 52 },
} as const;

interface FaultWindow {
  scenario: string;
  start: number;
  end: number;
}

interface RunResult {
  scenario: string;
  store: StoreKind;
  report: LossReport;
  windows: FaultWindow[];
  recoverMs: number[];
  caughtUpMs: number[];
  baselineP99: number;
  drained: boolean;
  peakRss: Record<string, number>;
  /** CPU ms per service from the start of the load to the check. */
  cpuMs: Record<string, number>;
  deadLetters: number;
  unexpectedExits: string[];
  extra: Record<string, number | string>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const log = (msg: string) => process.stderr.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Distinct produced (gateway, seq) stored (derived series carry seq -1), for waiting until the store has caught up. */
async function storedDistinct(store: TimeSeriesStore, produced: Array<{ gateway: string; lastSeq: number }>): Promise<number> {
  let n = 0;
  for (const g of produced) n += new Set((await store.sequences(g.gateway)).filter((s) => s >= 1 && s <= g.lastSeq)).size;
  return n;
}

/**
 * Two views of recovery per fault, both from the fault's end:
 *  - recoverMs: until the last reading (arriving on the live feed after the fault began) whose delay
 *    exceeded the normal delay (2 × the pre-fault p99, at least +2 s); 0 when delays never left normal,
 *    which under overload (a large pre-fault p99) says little;
 *  - caughtUpMs: until every reading taken before the fault ended had arrived (the backlog the fault
 *    built is stored), whatever the normal delay.
 */
function recovery(
  env: Environment,
  windows: FaultWindow[],
  exclude: Set<string>,
  loadEnd: number,
): { baselineP99: number; recoverMs: number[]; caughtUpMs: number[] } {
  const samples: Array<[number, number]> = [];
  for (const [gw, arrivals] of env.observer.record.arrivals) {
    if (exclude.has(gw)) continue;
    const published = env.observer.record.published.get(gw);
    for (const [seq, at] of arrivals) {
      const p = published?.get(seq);
      if (p) samples.push([at, at - p.ts]);
    }
  }
  samples.sort((a, b) => a[0] - b[0]);
  const firstFault = windows[0]?.start ?? Infinity;
  const baseline = samples
    .filter(([at]) => at < firstFault)
    .map(([, d]) => d)
    .sort((a, b) => a - b);
  const baselineP99 = percentile(baseline, 0.99);
  const threshold = Number.isFinite(baselineP99) ? Math.max(2 * baselineP99, baselineP99 + 2000) : 10_000;
  const recoverMs = windows.map((w, i) => {
    // Up to the next fault or the end of the load phase: readings released later by the forced ingest
    // reconnect are reported as missing_until_ingest_reconnected, not as slow recovery.
    const until = windows[i + 1]?.start ?? loadEnd;
    let last = -Infinity;
    for (const [at, d] of samples) if (at >= w.start && at < until && d > threshold) last = at;
    return Number.isFinite(last) ? Math.max(0, last - w.end) : 0;
  });
  const caughtUpMs = windows.map((w) => {
    let last = w.end;
    for (const [at, d] of samples) if (at - d <= w.end && at > last) last = at;
    return last - w.end;
  });
  return { baselineP99, recoverMs, caughtUpMs };
}

async function runOnce(opts: {
  scale: keyof typeof SCALES;
  scenarios: Scenario[];
  label: string;
  minutes: number;
  store: StoreKind;
  pollMs: number;
  faultSeconds?: number;
  liveChunk?: number;
}): Promise<RunResult> {
  const s = SCALES[opts.scale];
  const city = faultCity({ gateways: s.gateways, devicesPerGateway: s.devicesPerGateway, pollIntervalMs: opts.pollMs });
  const skew = opts.scenarios.some((x) => x.clockSkew) ? skewedGateways(city.gateways.map((g) => g.id)) : undefined;
  const dir = tempDir(`faults-${opts.label}`);
  const env = new Environment({
    dir,
    city,
    store: opts.store,
    gatewaysPerProcess: s.gatewaysPerProcess,
    clockSkewMs: skew,
    liveChunk: opts.liveChunk,
  });
  log(
    `${opts.label}: ${city.gateways.length} gateways, ${city.devices.length} devices, poll ${opts.pollMs} ms (${Math.round((city.devices.length * 1000) / opts.pollMs)} readings/s), ${opts.minutes} min, store ${opts.store}, dir ${dir}`,
  );
  const sampler = setInterval(() => env.sample(), 2000);
  const windows: FaultWindow[] = [];
  try {
    await env.start();
    const t0 = Date.now();
    // CPU from here on: the services' start-up before the load is not the cost of carrying readings.
    const cpuAtStart = env.cpuMs();
    const total = opts.minutes * 60_000;
    // Faults start after a warm-up (the pre-fault delays are the baseline) and are spread over the run.
    const warmup = Math.max(20_000, total * 0.2);
    const slot = (total - warmup) / opts.scenarios.length;
    for (const [i, sc] of opts.scenarios.entries()) {
      await sleep(t0 + warmup + i * slot - Date.now());
      const durationMs = sc.kind === 'kill' ? 5_000 : (opts.faultSeconds ?? 0) * 1000 || Math.round(slot * 0.4);
      log(`fault ${sc.name}: begin (${sc.what}) for ${Math.round(durationMs / 1000)} s`);
      const start = Date.now();
      await sc.begin(env);
      await sleep(durationMs);
      await sc.end(env);
      windows.push({ scenario: sc.name, start, end: Date.now() });
      log(`fault ${sc.name}: ended`);
    }
    await sleep(t0 + total - Date.now());
    const loadEnd = Date.now();

    log('run over: gateways restarted with devices disabled to drain their outboxes');
    const drained = await env.drainGateways(opts.scale === 'city' ? 600_000 : 180_000);
    const produced = readOutboxDir(env.outboxDir);
    const expected = produced.reduce((n, g) => n + g.lastSeq - g.edgeDropped, 0);
    const store = await env.openStoreForCheck();
    try {
      // Wait until the store has everything, or nothing new arrived for 45 s.
      const waitForStore = async () => {
        let have = 0;
        let lastProgress = Date.now();
        const deadline = Date.now() + (opts.scale === 'city' ? 600_000 : 180_000);
        while (Date.now() < deadline && Date.now() - lastProgress < 45_000) {
          const now = await storedDistinct(store, produced);
          if (now > have) lastProgress = Date.now();
          have = now;
          if (have >= expected) break;
          await sleep(3000);
        }
        return have;
      };
      let have = await waitForStore();
      log(`store holds ${have} of ${expected} produced (minus edge drops)`);
      // Readings the broker still holds in ingest's session but does not deliver come out when ingest
      // reconnects: a graceful ingest restart tells "stuck in the broker" apart from "lost".
      let beforeIngestReconnect: number | undefined;
      if (have < expected) {
        beforeIngestReconnect = expected - have;
        log(`${beforeIngestReconnect} missing: restarting ingest (graceful) to see whether the broker still holds them`);
        await env.ingest.stop();
        await env.startIngest();
        have = await waitForStore();
        log(`after the ingest reconnect the store holds ${have} of ${expected}`);
      }
      log('waiting 3 s for the live feed');
      await sleep(3000);
      const stepped = opts.scenarios.some((x) => x.clockStep) ? steppedGateways(city.gateways.map((g) => g.id)) : {};
      const exclude = new Set([...Object.keys(skew ?? {}), ...Object.keys(stepped)]);
      const kinds = new Map(city.devices.map((d) => [d.id, d.kind]));
      const report = await checkLoss({
        store,
        produced,
        observed: env.observer.record,
        kindOf: (d) => kinds.get(d),
        excludeFromDelay: exclude,
      });
      log(summaryLine(report));
      if (!report.ok) log(`examples: ${JSON.stringify(report.examples)}`);
      const { baselineP99, recoverMs, caughtUpMs } = recovery(env, windows, exclude, loadEnd);
      const deadLetters = (await store.deadLetters({ limit: 10_000_000 })).length;
      const extra: Record<string, number | string> = {};
      for (const sc of opts.scenarios) Object.assign(extra, sc.extra?.() ?? {});
      if (beforeIngestReconnect !== undefined) extra.missing_until_ingest_reconnected = beforeIngestReconnect;
      if (opts.scenarios.some((x) => x.clockStep)) {
        const rec = env.observer.record;
        extra.published_corrected = rec.clockMarks.corrected;
        // Readings whose (device, ts) another reading of the same gateway also has: what a store keyed by time loses.
        const seen = new Map<string, number>();
        for (const [g, seqs] of rec.published)
          for (const r of seqs.values()) seen.set(`${g}|${r.device}|${r.ts}`, (seen.get(`${g}|${r.device}|${r.ts}`) ?? 0) + 1);
        extra.sharing_device_ts = [...seen.values()].filter((n) => n > 1).reduce((a, n) => a + n, 0);
        extra.eras = Object.keys(stepped)
          .map((g) => `${g}:${rec.eras.get(g) ?? 0}`)
          .join(' ');
      }
      return {
        scenario: opts.label,
        store: opts.store,
        report,
        windows,
        recoverMs,
        caughtUpMs,
        baselineP99,
        drained,
        peakRss: env.peakRss(),
        cpuMs: Object.fromEntries(Object.entries(env.cpuMs()).map(([k, v]) => [k, v - (cpuAtStart[k] ?? 0)])),
        deadLetters,
        unexpectedExits: [env.broker, env.ingest, ...env.gatewayProcs].flatMap((p) => p.unexpectedExits.map((e) => `${p.name}: ${e}`)),
        extra,
      };
    } finally {
      await store.close();
    }
  } finally {
    clearInterval(sampler);
    await env.close();
  }
}

function codeState(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trimEnd();
  const dirty = git(['status', '--short', 'broker', 'ingest', 'edge', 'store', 'protocol']).split('\n').filter(Boolean);
  return `Code: commit ${git(['rev-parse', '--short', 'HEAD'])}${dirty.length ? ` with uncommitted changes of other engineers in ${dirty.map((l) => l.slice(3)).join(', ')}` : ' (clean tree)'}.`;
}

function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  return `nproc=${cpus().length}, memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), CPU ${model}, load average at start ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (machine shared with other engineers' work)`;
}

function markdown(results: RunResult[], command: string, header: string): string {
  const rows = results.map((r) => {
    const x = r.report;
    const rss = Object.entries(r.peakRss)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    // CPU per 1,000 stored readings: steadier than wall rates on a shared machine (from the start of the load to the
    // check, restarts after faults included).
    const perK = (ms: number) => ((ms / Math.max(1, x.stored)) * 1000).toFixed(0);
    const cpu = [
      ...Object.entries(r.cpuMs).map(([k, v]) => `${k} ${perK(v)}`),
      `total ${perK(Object.values(r.cpuMs).reduce((a, b) => a + b, 0))}`,
    ].join(', ');
    const notes = [
      r.drained ? '' : 'outboxes NOT drained within the timeout',
      x.pending ? `${x.pending} still in outboxes` : '',
      x.rejected ? `${x.rejected} rejected by validation` : '',
      x.edgeDropped ? `${x.edgeDropped} dropped by outbox bound` : '',
      r.deadLetters ? `${r.deadLetters} dead letters` : '',
      ...Object.entries(r.extra).map(([k, v]) => `${k}=${v}`),
      `extra copies ${x.extraCopies}`,
      r.unexpectedExits.length ? `UNEXPECTED EXITS: ${r.unexpectedExits.join('; ')}` : '',
    ].filter(Boolean);
    return `| ${r.scenario} | ${x.produced} | ${x.stored} | **${x.missing}** | **${x.duplicated}** | ${x.altered} | ${formatMs(x.delay.p50)} | ${formatMs(x.delay.p99)} | ${formatMs(x.delay.max)} | ${r.recoverMs.map(formatMs).join(' / ') || '–'} (baseline p99 ${formatMs(r.baselineP99)}) | ${r.caughtUpMs.map(formatMs).join(' / ') || '–'} | ${rss} | ${cpu} | ${notes.join('; ')} |`;
  });
  return [
    '',
    `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — \`${command}\``,
    '',
    header,
    '',
    '| scenario | produced | stored | lost | duplicated | altered | delay p50 | p99 | max | time to recover (delays normal again) | caught up (all earlier readings stored) | peak RSS MB | CPU ms per 1,000 stored readings | notes |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...results.map(
      (r) => `- ${r.scenario}: \`${summaryLine(r.report)}\`${r.report.ok ? '' : ` — examples ${JSON.stringify(r.report.examples)}`}`,
    ),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: 'small' },
      scenario: { type: 'string', default: 'each' },
      minutes: { type: 'string' },
      store: { type: 'string', default: 'sqlite' },
      'poll-ms': { type: 'string' },
      'fault-seconds': { type: 'string' },
      'no-append': { type: 'boolean', default: false },
      'ingest-live-chunk': { type: 'string' },
    },
  });
  const scale = values.scale as keyof typeof SCALES;
  if (!(scale in SCALES)) throw new Error(`--scale must be ${Object.keys(SCALES).join(', ')}, not ${values.scale}`);
  // `all`: the same plan against each store in turn (clock_step: "the same result on every store").
  const stores: StoreKind[] = values.store === 'all' ? ['sqlite', 'influxdb', 'victoriametrics'] : [values.store as StoreKind];
  for (const s of stores)
    if (s !== 'sqlite' && s !== 'influxdb' && s !== 'victoriametrics')
      throw new Error(`--store must be sqlite, influxdb, victoriametrics or all, not ${values.store}`);
  let ok = true;
  for (const store of stores) ok = (await runPlan(values, scale, store)) && ok;
  return ok ? 0 : 1;
}

async function runPlan(
  values: Record<string, string | boolean | undefined>,
  scale: keyof typeof SCALES,
  store: StoreKind,
): Promise<boolean> {
  const all = scenarios().filter((s) => !s.store || s.store === store);
  const known = scenarios().map((s) => s.name);
  const minutes = Number(values.minutes ?? SCALES[scale].minutes);
  const pollMs = Number(values['poll-ms'] ?? SCALES[scale].pollMs);
  const faultSeconds = values['fault-seconds'] ? Number(values['fault-seconds']) : undefined;
  const liveChunk = values['ingest-live-chunk'] ? Number(values['ingest-live-chunk']) : undefined;
  const command = `npx tsx bench/faults/run.ts ${process.argv.slice(2).join(' ')}`.trim();
  const header = `Machine: ${machine()}. Scale ${scale}: ${SCALES[scale].gateways} gateways × ${SCALES[scale].devicesPerGateway} devices, poll ${pollMs} ms, ${minutes} min per run, store ${store}, gateway processes of ${SCALES[scale].gatewaysPerProcess} gateways, ingest live.chunk ${liveChunk ?? 500}. ${codeState()}`;

  const plan: Array<{ label: string; list: Scenario[] }> = [];
  if (values.scenario === 'all') plan.push({ label: 'all', list: all });
  else if (values.scenario === 'each') for (const s of all) plan.push({ label: s.name, list: [s] });
  else {
    const s = all.find((x) => x.name === values.scenario);
    if (!s) throw new Error(`unknown scenario ${values.scenario} for store ${store} (known: ${known.join(', ')}, all, each)`);
    plan.push({ label: s.name, list: [s] });
  }
  const results: RunResult[] = [];
  for (const p of plan) {
    try {
      results.push(await runOnce({ scale, scenarios: p.list, label: p.label, minutes, store, pollMs, faultSeconds, liveChunk }));
    } catch (err) {
      log(`${p.label} FAILED TO RUN: ${(err as Error).stack ?? err}`);
    }
    // Each row is written as soon as it exists, so a long `each` run leaves partial results behind.
    if (!values['no-append'] && results.at(-1)?.scenario === p.label) {
      const file = join(REPO_ROOT, 'bench/faults/RESULTS.md');
      if (!existsSync(file))
        writeFileSync(
          file,
          '# Fault-injection results\n\nAppended by `bench/faults/run.ts`; every row is one run with an exact (gateway, seq) account by `bench/faults/loss-checker.ts`.\n',
        );
      appendFileSync(file, markdown([results.at(-1)!], command, header));
    }
  }
  for (const r of results) process.stdout.write(`${r.scenario} (${store}): ${summaryLine(r.report)}\n`);
  return results.length === plan.length && results.every((r) => r.report.ok && r.drained);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
