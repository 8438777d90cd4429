/**
 * Edge gateway figures (not a test): `npx tsx bench/edge/bench.ts [--quick]`. Writes bench/edge/RESULTS.md.
 *
 * 1. Requests/s of the RTU driver + bus queue on one socat pty at 9600 and 19200 baud, against the
 *    firmware simulator's RTU slave with bus timing emulated (ptys do not enforce baud) and without
 *    (pure software overhead), compared with the wire-time ceiling of docs/../shared/domain/devices.md.
 * 2. Gateway RSS with 50 Modbus TCP devices polled every second: the release artifact (compiled, plain node) and
 *    the sources through tsx, each against a bare process started the same way. `--rss-only` runs this part
 *    alone and replaces its section in RESULTS.md (it needs no quiet machine: memory, not speed).
 * 3. Outbox replay rate after a 100k-reading backlog, against plain mqtt.js QoS 1 publishing of the
 *    same batches without the outbox (the ceiling the broker and client allow).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { charTimeMs, interFrameGapMs } from '@tamky/modbus';
import { createLogger } from '@tamky/service-kit';
import { spawnPeer, startMosquitto, startPtyPair, tempDir, waitFor } from '@tamky/test-support';
import { createSimDevice, startModbusRtuSlave, startModbusTcpSlave, TAM_KY } from '@tamky/firmware-sim';
import type { Device } from '@tamky/protocol';
import { BusQueue } from '../../edge/src/bus/bus-queue';
import { gatewayConfigSchema, openRtuLink, Outbox, startGateway } from '../../edge/src/index';
import { startCpuMeter } from '../support/cpu-meter';
import { buildGatewayRelease } from '../../deploy/scripts/gateway-release';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const log = createLogger('bench', { level: 'silent' });
const lines: string[] = [];
const out = (s = '') => {
  console.log(s);
  lines.push(s);
};
const dev = (kind: Device['kind'], id: string): Device => ({
  id,
  kind,
  name: id,
  ward: 'an-my',
  gateway: 'gw-bench',
  lat: 15.57,
  lon: 108.47,
  pollIntervalMs: 1000,
  tags: [],
});

async function rtuThroughput(baudRate: number, emulateBusTiming: boolean, seconds: number): Promise<{ rate: number; cpuUs: number }> {
  const pty = await startPtyPair();
  const air = createSimDevice(dev('air_station', 'air'), { city: TAM_KY, unitId: 1 });
  const slave = await startModbusRtuSlave([air], { path: pty.a, baudRate, emulateBusTiming, log });
  const link = openRtuLink({ path: pty.b, baudRate, dataBits: 8, parity: 'none', stopBits: 1, gapMs: interFrameGapMs(baudRate) }, log);
  await waitFor(() => link.isOpen(), { what: 'port open' });
  const queue = new BusQueue('bench');
  let n = 0;
  // This process: the driver, the queue and the in-process slave (socat is not counted).
  const cpu = startCpuMeter();
  const end = performance.now() + seconds * 1000;
  // Eight registers (the air-station block), as the gateway polls it: one transaction at a time through the queue.
  while (performance.now() < end) {
    await queue.run(() => link.transact(1, { fc: 0x03, address: 3, count: 8 }, 1000));
    n++;
  }
  const rate = n / seconds;
  const cpuUs = (cpu.ms() * 1000) / n;
  await link.close();
  await slave.close();
  await pty.stop();
  return { rate, cpuUs };
}

/** Wire-time ceiling: request 8 bytes, response 5 + 2N bytes, 3.5 characters of silence after each. */
function ceiling(baudRate: number, registers: number): number {
  const c = charTimeMs(baudRate);
  const gap = interFrameGapMs(baudRate);
  return 1000 / ((8 + 5 + 2 * registers) * c + 2 * gap);
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

interface RssRun {
  label: string;
  /** node arguments before `--config <file>`, and the folder to start in. */
  gateway: { args: string[]; cwd: string };
  bare: string[];
}

/** CPU seconds the process used so far (utime + stime, clock ticks of 1/100 s on Linux). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function gatewayRss(
  seconds: number,
  run: RssRun,
): Promise<{ baseline: number; early: number; late: number; readings: number; cpuPercent: number }> {
  const broker = await startMosquitto();
  const sims = Array.from({ length: 50 }, (_, i) => createSimDevice(dev('noise_meter', `noise-${i + 1}`), { city: TAM_KY, unitId: i + 1 }));
  const slave = await startModbusTcpSlave(sims, { log });
  const dir = tempDir('bench-rss');
  const config = join(dir, 'gw.yaml');
  writeFileSync(
    config,
    stringify({
      gatewayId: 'gw-bench',
      mqtt: { url: broker.url },
      outbox: { path: join(dir, 'gw.db') },
      health: { intervalMs: 5000 },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
      devices: sims.map((s, i) => ({ id: s.id, profile: 'noise_meter', bus: 'tcp-1', unitId: i + 1, pollIntervalMs: 1000 })),
    }),
  );
  const bare = spawnPeer(process.execPath, [...run.bare, '-e', 'setInterval(() => {}, 1000)'], { cwd: run.gateway.cwd });
  const gw = spawnPeer(process.execPath, [...run.gateway.args, '--config', config], {
    cwd: run.gateway.cwd,
    env: { PATH: process.env.PATH!, LOG_LEVEL: 'warn' },
  });
  let readings = 0;
  const sub = await mqtt.connectAsync(broker.url);
  sub.on('message', (_t, p) => (readings += (JSON.parse(p.toString()) as { readings: unknown[] }).readings.length));
  await sub.subscribeAsync('city/v1/gw/gw-bench/telemetry', { qos: 1 });
  await waitFor(() => readings > 0, { what: `${run.label}: first readings (${gw.output().slice(-300)})`, timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 10_000));
  const early = rssOf(gw.child.pid!);
  const baseline = rssOf(bare.child.pid!);
  const cpuBefore = cpuSecondsOf(gw.child.pid!);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const late = rssOf(gw.child.pid!);
  const cpuPercent = ((cpuSecondsOf(gw.child.pid!) - cpuBefore) / seconds) * 100;
  await gw.stop();
  await bare.stop();
  await sub.endAsync();
  await slave.close();
  await broker.stop();
  return { baseline, early, late, readings, cpuPercent };
}

async function replay(backlog: number): Promise<{ gateway: number; rawMqtt: number; gatewayCpuUs: number; rawCpuUs: number }> {
  const broker = await startMosquitto();
  const dir = tempDir('bench-replay');
  const path = join(dir, 'gw.db');
  const ob = new Outbox({ path, maxReadings: 1_000_000, maxAgeMs: 7 * 86_400_000, synchronous: 'normal', now: Date.now }, log);
  const vals = JSON.stringify({ laeq: { v: 55.2, u: 'dBA' } });
  const t0 = Date.now();
  for (let i = 0; i < backlog; i += 10_000)
    ob.addReadings(Array.from({ length: 10_000 }, (_, k) => ({ device: `noise-${k % 50}`, ts: t0 + i + k, vals })));
  ob.close();

  let received = 0;
  const sub = await mqtt.connectAsync(broker.url);
  sub.on('message', (_t, p) => (received += (JSON.parse(p.toString()) as { readings: unknown[] }).readings.length));
  await sub.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });

  const config = gatewayConfigSchema.parse({
    gatewayId: 'gw-replay',
    mqtt: { url: broker.url },
    outbox: { path, replayPerSecond: 1_000_000, synchronous: 'normal' },
    buses: [],
    devices: [],
  });
  const start = performance.now();
  // This process (gateway and subscriber) and mosquitto, per reading.
  let cpu = startCpuMeter([broker.child.pid]);
  const gw = await startGateway(config, { logger: log });
  await waitFor(() => gw.outboxDepth() === 0, { what: 'replay', timeoutMs: 600_000, intervalMs: 20 });
  const gatewayRate = backlog / ((performance.now() - start) / 1000);
  const gatewayCpuUs = (cpu.ms() * 1000) / backlog;
  await gw.close();
  await waitFor(() => received >= backlog, { what: 'subscriber to receive the backlog', timeoutMs: 120_000 });

  // Peer: plain mqtt.js, same batch size (500) and in-flight bound (4), no disk.
  const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  const batch = JSON.stringify({
    v: 1,
    gateway: 'gw-raw',
    readings: Array.from({ length: 500 }, (_, k) => ({ device: `noise-${k % 50}`, ts: t0 + k, seq: k + 1, values: JSON.parse(vals) })),
  });
  const rawStart = performance.now();
  cpu = startCpuMeter([broker.child.pid]);
  let sent = 0;
  await new Promise<void>((resolveAll) => {
    let inflight = 0;
    const pump = () => {
      while (inflight < 4 && sent < backlog) {
        inflight++;
        sent += 500;
        pub.publish('city/v1/gw/gw-raw/telemetry', batch, { qos: 1 }, () => {
          inflight--;
          if (sent >= backlog && inflight === 0) resolveAll();
          else pump();
        });
      }
    };
    pump();
  });
  const rawRate = backlog / ((performance.now() - rawStart) / 1000);
  const rawCpuUs = (cpu.ms() * 1000) / backlog;
  await pub.endAsync();
  await sub.endAsync();
  await broker.stop();
  return { gateway: gatewayRate, rawMqtt: rawRate, gatewayCpuUs, rawCpuUs };
}

/** The gateway as released (npm run release:gateway, unpacked) and from sources through tsx. */
async function rssRuns(): Promise<RssRun[]> {
  const release = await buildGatewayRelease(tempDir('bench-release'));
  const box = tempDir('bench-release-box');
  execFileSync('tar', ['-xzf', release.tarball, '-C', box]);
  const unpacked = join(box, `tamky-gateway-${release.manifest.version}`);
  // As systemd starts it: the node flags of the unit's ExecStart, shipped in the release.
  const unit = readFileSync(join(unpacked, 'deploy/tamky-gateway.service'), 'utf8');
  const flags = /^ExecStart=\S+ (.*?) \S*dist\/cli\.js /m.exec(unit)![1]!.split(' ');
  return [
    {
      label: `release, as the systemd unit runs it: \`node ${flags.join(' ')} dist/cli.js\``,
      gateway: { args: [...flags, 'dist/cli.js'], cwd: unpacked },
      bare: flags,
    },
    { label: 'release, no node flags: `node dist/cli.js`', gateway: { args: ['dist/cli.js'], cwd: unpacked }, bare: [] },
    {
      label: 'sources, `node --import tsx edge/src/cli.ts`',
      gateway: { args: ['--import', 'tsx', 'edge/src/cli.ts'], cwd: root },
      bare: ['--import', 'tsx'],
    },
  ];
}

async function rssSection(seconds: number): Promise<void> {
  const results = [];
  for (const run of await rssRuns()) results.push({ run, ...(await gatewayRss(seconds, run)) });
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  out('## 2. Gateway memory, 50 Modbus TCP devices polled every second (CLI child process, mosquitto)');
  out();
  out(
    `| gateway run as | bare process started the same way, idle (peer) | gateway 10 s after its first readings | ${10 + seconds} s after | ratio to the peer (at ${10 + seconds} s) | gateway CPU (% of one core) | readings published |`,
  );
  out('|---|---|---|---|---|---|---|');
  for (const r of results)
    out(
      `| ${r.run.label} | ${mib(r.baseline)} | ${mib(r.early)} | ${mib(r.late)} | ${(r.late / r.baseline).toFixed(2)} | ${r.cpuPercent.toFixed(1)} | ${r.readings} |`,
    );
  out();
  out('Goal (issue #15): ≤ 80 MB on a small ARM box. RSS read from /proc/<pid>/status (VmRSS); 1 MiB = 1.049 MB.');
  out();
}

if (process.argv.includes('--rss-only')) {
  await rssSection(quick ? 10 : 30);
  const file = join(here, 'RESULTS.md');
  const previous = readFileSync(file, 'utf8');
  const from = previous.indexOf('## 2.');
  const to = previous.indexOf('## 3.');
  const note = `Section 2 re-run alone on ${new Date().toISOString().slice(0, 10)}: \`npx tsx bench/edge/bench.ts --rss-only${quick ? ' --quick' : ''}\`.`;
  writeFileSync(file, previous.slice(0, from) + lines.join('\n') + note + '\n\n' + previous.slice(to));
  process.exit(0);
}

const seconds = quick ? 3 : 8;
out('# Edge gateway benchmark');
out();
out(
  `Run: \`npx tsx bench/edge/bench.ts${quick ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, shared 2-core host (other engineers' tests running): treat as indicative.`,
);
out();
out('## 1. One RTU bus (socat pty, firmware-sim RTU slave), reading 8 holding registers per request');
out();
out(
  '| baud | wire-time ceiling (req/s) | measured, slave emulates bus timing | ratio | measured, no timing (software only) | CPU µs per request, timed / software only |',
);
out('|---|---|---|---|---|---|');
for (const baud of [9600, 19200]) {
  const timed = await rtuThroughput(baud, true, seconds);
  const raw = await rtuThroughput(baud, false, seconds);
  out(
    `| ${baud} | ${ceiling(baud, 8).toFixed(1)} | ${timed.rate.toFixed(1)} | ${(timed.rate / ceiling(baud, 8)).toFixed(2)} | ${raw.rate.toFixed(0)} | ${timed.cpuUs.toFixed(0)} / ${raw.cpuUs.toFixed(0)} |`,
  );
}
out();
out(
  'Ceiling = 1000 / ((8 + 5 + 2·8) characters × 11 bits / baud + 2 × 3.5 characters of silence), per devices.md. The emulating slave adds 2 ms turnaround per request, so a ratio a little under 1 means the driver and queue add little to the wire time (the remainder: the 3.5-character gap is waited with a millisecond timer, rounded up). The software-only column is bounded by that same gap plus pty and event-loop latency, i.e. the driver is never the bottleneck of a real RS-485 bus.',
);
out();
await rssSection(quick ? 10 : 30);
const backlog = quick ? 20_000 : 100_000;
const rep = await replay(backlog);
out(
  `## 3. Outbox replay after a ${backlog.toLocaleString('en')}-reading backlog (mosquitto, batches of 500, 4 in flight, synchronous=normal)`,
);
out();
out('| sender | readings/s | CPU µs per reading (this process + mosquitto) |');
out('|---|---|---|');
out(`| gateway outbox → broker (read SQLite, publish, delete on PUBACK) | ${rep.gateway.toFixed(0)} | ${rep.gatewayCpuUs.toFixed(1)} |`);
out(`| plain mqtt.js, same batches pre-serialised, no disk (peer) | ${rep.rawMqtt.toFixed(0)} | ${rep.rawCpuUs.toFixed(1)} |`);
out(`| ratio | ${(rep.gateway / rep.rawMqtt).toFixed(2)} | ${(rep.gatewayCpuUs / rep.rawCpuUs).toFixed(2)} |`);
out();
out(
  'In production `replayPerSecond` (default 500) caps the replay far below this, so a city of gateways returning from an outage does not flatten the broker.',
);
writeFileSync(join(here, 'RESULTS.md'), lines.join('\n') + '\n');
process.exit(0);
