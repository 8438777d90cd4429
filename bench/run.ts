import { spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * `npm run bench`: runs every harness in bench/ one after another (never in parallel: each compares the
 * project against a peer in the same run, and they would disturb each other), then gathers each
 * harness's results in its own bench/{name}/RESULTS.md (the history), and writes BENCHMARKS.md: the standing at
 * a glance (bench/SUMMARY.md, one row per measure: goal, result, ratio, met, date) and a link to each history.
 *   npm run bench -- --only broker,store     run some harnesses
 *   npm run bench -- --collect               only rebuild BENCHMARKS.md
 */
interface Harness {
  name: string;
  title: string;
  command: string[];
  env?: Record<string, string>;
  /** The harness only prints its figures: they are appended to its RESULTS.md with the command, machine and date. */
  capture?: boolean;
}

const HARNESSES: Harness[] = [
  {
    name: 'broker',
    title: 'Broker fan-in and latency vs Mosquitto',
    command: ['bench/broker/fan-in.ts'],
    env: { GATEWAYS: '200', PER_GATEWAY: '300', ROUNDS: '5' },
  },
  {
    name: 'store',
    title: 'Store raw write rate (SQLite vs InfluxDB 1.6.7)',
    command: ['bench/store/raw-write.ts', '--readings', '200000', '--batch', '1000'],
    capture: true,
  },
  // Ingest's young generation as docker-compose.yml starts it (the direct writes in the same process get it too).
  {
    name: 'ingest',
    title: 'MQTT → ingest → store vs the store alone',
    command: ['bench/ingest/run.ts', '--readings', '200000'],
    env: { NODE_OPTIONS: '--max-semi-space-size=32' },
  },
  {
    name: 'ingest-lag',
    title: 'Consumer lag under sustained load (city-shaped: 5,200 devices)',
    command: ['bench/ingest-lag/run.ts'],
    env: { NODE_OPTIONS: '--max-semi-space-size=32' },
  },
  { name: 'edge', title: 'Edge gateway: RTU bus rate, RSS, outbox replay', command: ['bench/edge/bench.ts'] },
  {
    name: 'firmware-sim',
    title: 'Simulator wire rate vs pymodbus and the RS-485 ceiling',
    command: ['bench/firmware-sim/wire-rate.ts', '--seconds', '4'],
    capture: true,
  },
  { name: 'web', title: 'Dashboard bundle size, first live value, chart render', command: ['bench/web/bench.ts'] },
  { name: 'dashboard', title: 'History API latency per store (24 h × 1 min × 50 series)', command: ['bench/dashboard/history-latency.ts'] },
  {
    name: 'reports',
    title: "A month's city report per store (SQLite vs InfluxDB 1.6.7): time and memory",
    command: ['bench/reports/run.ts', '--runs', '3', '--stores', 'sqlite,influxdb'],
  },
  { name: 'wall', title: 'Wall: threshold crossing at a sensor → banner on the wall', command: ['bench/wall/alarm-to-banner.ts'] },
  {
    name: 'map',
    title: 'Geographic map, 20,000 devices at 1080p: first render, pan/zoom frames, CPU vs the schematic',
    command: ['bench/map/run.ts', '--devices', '20000', '--rounds', '3'],
  },
  // --expose-gc: the server's memory is read after a forced collection.
  {
    name: 'storm',
    title: 'Alarm storm (2,000 device alarms): wall and alarm desk render, a live burst, server memory',
    command: ['bench/storm/run.ts', '--alarms', '2000', '--burst', '200', '--rounds', '3', '--peer', '20'],
    env: { NODE_OPTIONS: '--expose-gc' },
  },
  {
    name: 'lorawan',
    title: 'LoRaWAN uplinks through the connector vs a wired gateway',
    command: ['bench/lorawan/run.ts', '--uplinks', '2000', '--stores', 'sqlite,influxdb'],
  },
  {
    name: 'public',
    title: "Residents' page: a 1,000-request crowd vs the operators' latency; page bytes and first paint on a throttled phone",
    command: ['bench/public/bench.ts'],
  },
  {
    name: 'faults',
    title: 'Faults with an exact account of every reading',
    command: ['bench/faults/run.ts', '--scale', 'small', '--scenario', 'each', '--store', 'sqlite'],
  },
];

const machine = () =>
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} (shared machine: read the ratios).`;

const { values } = parseArgs({ options: { only: { type: 'string' }, collect: { type: 'boolean', default: false } } });
const root = join(import.meta.dirname, '..');
const selected = values.only ? HARNESSES.filter((h) => values.only!.split(',').includes(h.name)) : HARNESSES;

const failures: string[] = [];
if (!values.collect) {
  for (const h of selected) {
    const line = `${Object.entries(h.env ?? {})
      .map(([k, v]) => `${k}=${v} `)
      .join('')}npx tsx ${h.command.join(' ')}`;
    process.stdout.write(`\n=== ${h.name}: ${line}\n`);
    const started = Date.now();
    const result = spawnSync(process.execPath, ['--import', 'tsx', ...h.command], {
      cwd: root,
      stdio: h.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
      env: { ...process.env, ...h.env },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    process.stdout.write(
      `${result.stdout ?? ''}=== ${h.name}: exit ${result.status} after ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
    if (result.status !== 0) failures.push(h.name);
    else if (h.capture) {
      appendFileSync(
        join(root, 'bench', h.name, 'RESULTS.md'),
        `\n## ${new Date().toISOString()} — \`${line}\`\n\n${machine()}\n\n\`\`\`\n${result.stdout.trim()}\n\`\`\`\n`,
      );
    }
  }
}

const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
const gib = (n: number) => (n / 2 ** 30).toFixed(1);
// The summary rows are kept by hand in bench/SUMMARY.md: a run's figures need reading (which round, which
// peer, how loaded the machine was) before they become the standing.
const summaryFile = join(root, 'bench', 'SUMMARY.md');
const summary = existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8').trim() : '_no summary yet_';
const histories = HARNESSES.map(
  (h) => `- ${h.title}: \`npx tsx ${h.command.join(' ')}\`, every run in [bench/${h.name}/RESULTS.md](bench/${h.name}/RESULTS.md)`,
);
writeFileSync(
  join(root, 'BENCHMARKS.md'),
  [
    '# Benchmarks',
    '',
    'Produced by `npm run bench` (runs every harness in `bench/` in turn; `npm run bench -- --only broker` runs one).',
    'Speed is measured here, never asserted in tests. Each harness compares the project against a peer in the same run',
    '(Mosquitto, the store written directly, pymodbus, the RS-485 wire-time ceiling), because this machine is shared and',
    'noisy: read the ratios, not the absolute figures.',
    '',
    `Collected ${new Date().toISOString()} on ${cpus().length} × ${cpuModel}, ${gib(totalmem())} GiB RAM (${gib(freemem())} GiB free),`,
    `Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at collection time.`,
    failures.length ? `\nHarnesses that failed in this run: ${failures.join(', ')}.` : '',
    '',
    summary,
    '',
    '## Every run, per harness',
    '',
    ...histories,
    '',
  ].join('\n'),
);
process.stdout.write(`\nwrote BENCHMARKS.md${failures.length ? `; failed: ${failures.join(', ')}` : ''}\n`);
process.exit(failures.length ? 1 : 0);
