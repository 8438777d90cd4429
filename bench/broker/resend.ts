/**
 * Session-resend benchmark: how fast a broker hands a persistent session its queue when the subscriber comes
 * back (ingest reconnecting after a store outage). The subscriber (QoS 1, clean: false) subscribes and leaves,
 * gateways publish `MESSAGES` QoS 1 messages that queue in its session, then it reconnects and the harness
 * times CONNECT → last queued message received (PUBACK sent for each as it arrives), and checks that every
 * message came exactly once and in order per gateway. Brokers: this broker's real CLI with memory persistence
 * and with Redis persistence (how the city runs it), and Debian Mosquitto, each its own process; beside the
 * wall rate, each broker's CPU time per 1,000 resent messages (/proc).
 *
 *   npx tsx bench/broker/resend.ts                 appends a section to bench/broker/RESEND.md
 *   MESSAGES=20000 ROUNDS=3 TARGETS=redis,mosquitto npx tsx bench/broker/resend.ts
 */
import { execSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, spawnPeer, startMosquitto, startRedis, tempDir, waitForPort, type Peer } from '@tamky/test-support';
import { hashSecret } from '@tamky/service-kit';
import { processCpuMs } from '../support/proc-cpu';
import { RawMqttClient } from './raw-mqtt';

const MESSAGES = Number(process.env.MESSAGES ?? 5000);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const GATEWAYS = 20;
const WINDOW = 16;
const repo = resolve(import.meta.dirname, '../..');
const gatewayIds = Array.from({ length: GATEWAYS }, (_, i) => `gw-resend-${String(i).padStart(2, '0')}`);

interface Target {
  name: string;
  port: number;
  auth: (id: string) => { username?: string; password?: string };
  subscriber: { clientId: string; username?: string; password?: string };
  pid: number;
  /** Redis, when the broker keeps its sessions there: its CPU is part of the resend's cost. */
  storePid?: number;
  stop(): Promise<void>;
}

async function startOurs(persistence: 'memory' | 'redis'): Promise<Target> {
  const dir = tempDir('bench-resend');
  const port = await freePort();
  const redis = persistence === 'redis' ? await startRedis() : undefined;
  const hashes = await Promise.all(gatewayIds.map((id) => hashSecret(`${id}-secret`, { N: 4096 })));
  const lines = [
    'profile: production',
    `listeners: { mqtt: { host: 127.0.0.1, port: ${port} } }`,
    ...(redis ? [`persistence: { type: redis, url: "${redis.url}" }`] : []),
    'credentials:',
    '  gateways:',
    ...gatewayIds.map((id, i) => `    - { id: ${id}, secretHash: "${hashes[i]}" }`),
    '  services:',
    `    - { username: ingest, role: ingest, secretHash: "${await hashSecret('ingest-secret', { N: 4096 })}" }`,
    'limits: { maxConnections: 5000, publishesPerSecond: 1000000000, connectsPerSecondPerAddress: 100000, maxOfflineMessages: 1000000 }',
  ];
  const config = join(dir, 'broker.yaml');
  writeFileSync(config, lines.join('\n'));
  const peer: Peer = spawnPeer(process.execPath, ['--import', 'tsx', join(repo, 'broker/src/cli.ts'), '--config', config], {
    env: { ...process.env, LOG_LEVEL: 'warn' },
    cwd: repo,
  });
  await waitForPort(port, `tamky broker (${peer.output()})`, 30_000);
  return {
    name: `tamky broker (aedes, ${persistence})`,
    port,
    auth: (id) => ({ username: id, password: `${id}-secret` }),
    subscriber: { clientId: 'ingest-resend', username: 'ingest', password: 'ingest-secret' },
    pid: peer.child.pid!,
    ...(redis ? { storePid: redis.child.pid! } : {}),
    stop: async () => {
      await peer.stop();
      await redis?.stop();
    },
  };
}

async function startMosq(): Promise<Target> {
  const m = await startMosquitto('max_inflight_messages 100\n');
  return {
    name: 'mosquitto',
    port: m.port,
    auth: () => ({}),
    subscriber: { clientId: 'ingest-resend' },
    pid: m.child.pid!,
    stop: () => m.stop(),
  };
}

/** Gateway g's message i: its index in the first 4 bytes (order check), padded to ~200 bytes. */
const body = (g: number, i: number) => {
  const b = Buffer.alloc(200, 0x20);
  b.writeUInt16BE(g, 0);
  b.writeUInt32BE(i, 2);
  return b;
};

async function round(target: Target, round: number) {
  const clientId = `${target.subscriber.clientId}-${round}`;
  const first = await RawMqttClient.connect(target.port, { ...target.subscriber, clientId, clean: false });
  await first.subscribe('city/v1/gw/+/telemetry', 1);
  first.close();
  await new Promise((r) => setTimeout(r, 200));

  const perGateway = Math.ceil(MESSAGES / GATEWAYS);
  const gateways = await Promise.all(gatewayIds.map((id) => RawMqttClient.connect(target.port, { clientId: id, ...target.auth(id) })));
  const queued0 = performance.now();
  await Promise.all(
    gateways.map(
      (gw, g) =>
        new Promise<void>((done) => {
          const send = gw.publisher(`city/v1/gw/${gatewayIds[g]}/telemetry`, 1);
          let sent = 0;
          let inflight = 0;
          const pump = () => {
            while (inflight < WINDOW && sent < perGateway) {
              inflight++;
              send(body(g, sent++));
            }
            if (sent === perGateway && inflight === 0) done();
          };
          gw.onPuback = () => {
            inflight--;
            pump();
          };
          pump();
        }),
    ),
  );
  const queueSeconds = (performance.now() - queued0) / 1000;
  for (const gw of gateways) gw.close();
  const total = perGateway * GATEWAYS;

  const next = new Array<number>(GATEWAYS).fill(0);
  let received = 0;
  let outOfOrder = 0;
  let duplicates = 0;
  const cpu0 = processCpuMs(target.pid);
  const storeCpu0 = target.storePid ? processCpuMs(target.storePid) : 0;
  const t0 = performance.now();
  const sub = await RawMqttClient.connect(target.port, { ...target.subscriber, clientId, clean: false }).then((c) => c);
  let lastAt = t0;
  sub.onPublish = (payload) => {
    const g = payload.readUInt16BE(0);
    const i = payload.readUInt32BE(2);
    if (i < next[g]!) duplicates++;
    else {
      if (i > next[g]!) outOfOrder++;
      next[g] = i + 1;
      received++;
    }
    lastAt = performance.now();
  };
  // Done when all arrived, or nothing has arrived for 5 s.
  while (received < total && performance.now() - lastAt < 5000) await new Promise((r) => setTimeout(r, 5));
  const seconds = (lastAt - t0) / 1000;
  const cpuMsPer1000 = ((processCpuMs(target.pid) - cpu0) / Math.max(1, received)) * 1000;
  const storeCpuMsPer1000 = target.storePid ? ((processCpuMs(target.storePid) - storeCpu0) / Math.max(1, received)) * 1000 : undefined;
  sub.close();
  return { total, received, seconds, perSecond: received / seconds, cpuMsPer1000, storeCpuMsPer1000, outOfOrder, duplicates, queueSeconds };
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const load = () => execSync('cat /proc/loadavg').toString().split(' ').slice(0, 3).join(' ');

const rows: string[] = [];
// TARGETS=redis,mosquitto runs some of: memory, redis, mosquitto.
const only = process.env.TARGETS?.split(',');
const starters = (
  [
    ['memory', () => startOurs('memory')],
    ['redis', () => startOurs('redis')],
    ['mosquitto', startMosq],
  ] as const
)
  .filter(([name]) => !only || only.includes(name))
  .map(([, start]) => start);
for (let r = 0; r < ROUNDS; r++) {
  for (const start of starters) {
    const target = await start();
    try {
      const res = await round(target, r);
      const row = `| ${target.name} | ${fmt(res.total)} | ${fmt(res.received)} | ${fmt(res.seconds, 2)} | **${fmt(res.perSecond)}** | ${fmt(res.cpuMsPer1000, 1)} | ${res.storeCpuMsPer1000 === undefined ? '–' : fmt(res.storeCpuMsPer1000, 1)} | ${res.outOfOrder} | ${res.duplicates} | ${fmt(res.total / res.queueSeconds)} |`;
      console.log(row);
      rows.push(row);
    } finally {
      await target.stop();
    }
  }
}

// Each run is appended: RESEND.md is this harness's history.
const file = join(import.meta.dirname, 'RESEND.md');
if (!existsSync(file)) writeFileSync(file, '# Session resend (catch-up) benchmark\n');
appendFileSync(
  file,
  [
    '',
    `## ${new Date().toISOString()} — \`MESSAGES=${MESSAGES} ROUNDS=${ROUNDS}${only ? ` TARGETS=${only.join(',')}` : ''} npx tsx bench/broker/resend.ts\``,
    '',
    `- Load average at the end ${load()} on 2 shared cores: a brief run on a busy machine, compare rows of the same run (the CPU column holds better than the wall rate).`,
    `- ${MESSAGES} QoS 1 messages (~200 bytes, ${GATEWAYS} gateways) queued in a persistent session while its subscriber is away; then the subscriber`,
    '  reconnects (raw socket, PUBACK per message as it arrives); timed from CONNECT to the last queued message.',
    '',
    '| broker | queued | resent | seconds | resend msg/s | broker CPU ms / 1,000 resent | Redis CPU ms / 1,000 resent | out of order (per gateway) | duplicates | queueing msg/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
);
