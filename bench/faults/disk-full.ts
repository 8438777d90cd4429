/**
 * Disk-full fault (issue 15, item 8): a small file system of its own under the store and another under the
 * gateways' outboxes (tmpfs with size=; needs root), each filled until the kernel says ENOSPC, held full, then
 * freed. The run records when the system alarms were raised and cleared (default rules, config/rules/default.yaml,
 * as the dashboard receives them on alarm/#), and accounts for every reading the gateways accepted (committed to
 * an outbox) with the loss checker. Readings a gateway could not commit while its disk was full never got a seq:
 * they are counted by its health (`outbox.notDurable`), not by the account.
 *
 *   npx tsx bench/faults/disk-full.ts [--gateways 4] [--devices 10] [--poll-ms 1000] [--fault-seconds 60]
 *
 * The broker, ingest (with alarm detection) and the gateways run in this process (the loss-checker test's
 * composition), so the figures are about correctness and alarm timing, not throughput. Results are appended to
 * bench/faults/RESULTS.md. The volumes are unmounted whatever happens.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { alarmEventSchema, filters, gatewayHealthSchema, type AlarmEvent } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker, type BrokerHandle } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngestWithAlarms, type IngestWithAlarms } from '@tamky/ingest';
import { tempDir } from '@tamky/test-support';
import { faultCity, REPO_ROOT } from './city';
import { startGatewayGroup, type GatewayGroup } from './gateway-group';
import { checkLoss, summaryLine } from './loss-checker';
import { startObserver, type Observer } from './observer';
import { readOutboxDir } from './outbox-seqs';

const { values: args } = parseArgs({
  options: {
    gateways: { type: 'string', default: '4' },
    devices: { type: 'string', default: '10' },
    'poll-ms': { type: 'string', default: '1000' },
    'fault-seconds': { type: 'string', default: '60' },
  },
});
const GATEWAYS = Number(args.gateways);
const DEVICES = Number(args.devices);
const POLL_MS = Number(args['poll-ms']);
const FAULT_MS = Number(args['fault-seconds']) * 1000;
const command = `npx tsx bench/faults/disk-full.ts --gateways ${GATEWAYS} --devices ${DEVICES} --poll-ms ${POLL_MS} --fault-seconds ${FAULT_MS / 1000}`;

const log = createLogger('disk-full', { level: process.env.LOG_LEVEL ?? 'warn' });
// A gateway on a full disk logs every reading it cannot commit: the account and its health say it once.
const gatewayLog = createLogger('disk-full-gateways', { level: process.env.LOG_LEVEL ?? 'fatal' });
const dir = tempDir('disk-full');
const storeVolume = join(dir, 'store');
const gatewayVolume = join(dir, 'gateways');
const mounted: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const at = (t = Date.now()) => `${((t - t0) / 1000).toFixed(1)} s`;

function mountSmall(path: string, size: string): void {
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  mounted.push(path);
}

function unmountAll(): void {
  for (const p of mounted.splice(0).reverse()) {
    try {
      execFileSync('umount', ['-l', p]);
    } catch (err) {
      console.error(`could not unmount ${p}: ${(err as Error).message}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Writes `filler` on the volume until ENOSPC; returns the bytes written. */
function fill(volume: string): number {
  const chunk = Buffer.alloc(256 * 1024, 1);
  let written = 0;
  try {
    for (;;) {
      writeFileSync(join(volume, 'filler'), chunk, { flag: 'a' });
      written += chunk.length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  return written;
}

interface Seen {
  event: AlarmEvent;
  at: number;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('mounting the small volumes needs root');
  const load = loadavg().map((l) => l.toFixed(1));
  const cpu0 = process.cpuUsage();
  // Room for the SQLite write-ahead logs (a few MiB each) and the run's readings; the filler takes the rest.
  mountSmall(storeVolume, '64m');
  mountSmall(gatewayVolume, '64m');

  const city = faultCity({ gateways: GATEWAYS, devicesPerGateway: DEVICES, pollIntervalMs: POLL_MS });
  const ids = city.gateways.map((g) => g.id);
  const secrets = Object.fromEntries(ids.map((id) => [id, `${id}-secret`]));
  const hash = (s: string) => hashSecret(s, { N: 1024 });
  let broker: BrokerHandle | undefined;
  let ingest: IngestWithAlarms | undefined;
  let observer: Observer | undefined;
  let group: GatewayGroup | undefined;
  const seen: Seen[] = [];
  const active = new Set<string>();
  const notDurable = new Map<string, number>();
  const path = join(storeVolume, 'readings.db');
  const store = await openStore({ type: 'sqlite', path }, { logger: log });
  try {
    broker = await startBroker(
      {
        profile: 'development',
        listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
        credentials: {
          gateways: await Promise.all(ids.map(async (id) => ({ id, secretHash: await hash(secrets[id]!) }))),
          services: [{ username: 'ingest', role: 'ingest', secretHash: await hash('ingest-secret') }],
        },
        selfWatch: { intervalMs: 2000 },
      },
      { logger: log },
    );
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const watcher = await mqtt.connectAsync(url, { clientId: 'disk-full-watcher', reconnectPeriod: 500 });
    watcher.on('message', (topic, payload) => {
      if (topic.startsWith('city/v1/alarm/')) {
        const event = alarmEventSchema.parse(JSON.parse(payload.toString()));
        seen.push({ event, at: Date.now() });
        // Raised alarms and their clearing (not the start's reconciling clears of what was never raised).
        const key = `${event.ruleId}|${event.sourceId}`;
        if (event.state === 'raised') active.add(key);
        else if (!active.delete(key)) return;
        console.log(`${at()} ${event.state} ${event.ruleId} ${event.sourceId} ${event.message.en}`);
      } else {
        const h = gatewayHealthSchema.parse(JSON.parse(payload.toString()));
        notDurable.set(h.gateway, Math.max(notDurable.get(h.gateway) ?? 0, h.outbox.notDurable));
      }
    });
    await watcher.subscribeAsync([filters.allAlarms, filters.allHealth], { qos: 1 });
    observer = await startObserver({ url, clientId: 'disk-full-observer' });
    ingest = await startIngestWithAlarms(
      {
        mqtt: { url, username: 'ingest', password: 'ingest-secret', clientId: 'ingest-1' },
        store: { type: 'sqlite', path },
        limitsDir: join(REPO_ROOT, 'config/limits'),
        registry: { follow: false, startWaitMs: 0 },
        alarms: { enabled: true, rulesFile: join(REPO_ROOT, 'config/rules/default.yaml') },
        selfWatch: { intervalMs: 2000 },
      },
      { store, city, logger: log },
    );
    const startGroup = (drainOnly: boolean) =>
      startGatewayGroup({
        city,
        gatewayIds: ids,
        mqttUrl: url,
        secrets,
        outboxDir: gatewayVolume,
        healthIntervalMs: 2000,
        drainOnly,
        logger: gatewayLog,
      });
    group = await startGroup(false);

    const waitAlarm = async (ruleId: string, state: AlarmEvent['state'], from: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = seen.find((s) => s.at >= from && s.event.ruleId === ruleId && s.event.state === state);
        if (hit) return hit.at;
        if (Date.now() > deadline) return undefined;
        await sleep(200);
      }
    };
    const phases: Array<{ phase: string; filled: number; alarms: Array<{ rule: string; raised?: number; cleared?: number }> }> = [];

    const fault = async (phase: string, volume: string, rules: string[]) => {
      const start = Date.now();
      const filled = fill(volume);
      console.log(`${at()} ${phase}: volume full (${(filled / 1048576).toFixed(1)} MiB of filler)`);
      const raised = await Promise.all(rules.map((r) => waitAlarm(r, 'raised', start, FAULT_MS + 60_000)));
      const held = Date.now() - start;
      if (held < FAULT_MS) await sleep(FAULT_MS - held);
      const freed = Date.now();
      rmSync(join(volume, 'filler'));
      console.log(`${at()} ${phase}: space returned`);
      const cleared = await Promise.all(rules.map((r) => waitAlarm(r, 'cleared', freed, 90_000)));
      phases.push({
        phase,
        filled,
        alarms: rules.map((rule, i) => ({
          rule,
          raised: raised[i] === undefined ? undefined : raised[i]! - start,
          cleared: cleared[i] === undefined ? undefined : cleared[i]! - freed,
        })),
      });
    };

    await sleep(15_000);
    await fault('store volume full', storeVolume, ['service-disk-90', 'store-refusing-writes']);
    await sleep(10_000);
    await fault('gateway volume full', gatewayVolume, ['gateway-disk-90']);
    await sleep(5_000);

    // The end of the run: devices off, the gateways only empty their outboxes; then the account.
    await group.close();
    group = await startGroup(true);
    const deadline = Date.now() + 120_000;
    let report = await checkLoss({ store, produced: readOutboxDir(gatewayVolume), observed: observer.record });
    while ((report.missing > 0 || report.pending > 0) && Date.now() < deadline) {
      await sleep(2000);
      report = await checkLoss({ store, produced: readOutboxDir(gatewayVolume), observed: observer.record });
    }
    const line = summaryLine(report);
    console.log(line);
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const lostAtEdge = [...notDurable.values()].reduce((a, b) => a + b, 0);
    const fmt = (ms?: number) => (ms === undefined ? '**never**' : `${(ms / 1000).toFixed(1)} s`);
    const rows = phases.flatMap((p) =>
      p.alarms.map((a) => `| ${p.phase} | ${(p.filled / 1048576).toFixed(1)} MiB | ${a.rule} | ${fmt(a.raised)} | ${fmt(a.cleared)} |`),
    );
    const section = [
      '',
      `## ${new Date(t0).toISOString().slice(0, 16).replace('T', ' ')} UTC — \`${command}\``,
      '',
      `Machine: nproc=${cpus().length}, load average at start ${load.join(' ')} (shared with other engineers' work). ${GATEWAYS} gateways × ${DEVICES} devices polled every ${POLL_MS} ms; each volume held full for ${FAULT_MS / 1000} s; store volume tmpfs 64 MiB, gateway volume tmpfs 64 MiB (all outboxes); default rules; broker, ingest and gateways in one process (CPU ${cpuS.toFixed(1)} s for the run, ${((cpuS * 1e6) / Math.max(1, report.produced)).toFixed(0)} µs per reading produced).`,
      '',
      '| fault | filler | alarm | raised after the volume filled | cleared after space returned |',
      '|---|---|---|---:|---:|',
      ...rows,
      '',
      `- account: \`${line}\``,
      `- readings the gateways took but could not commit while their disk was full (never accepted, counted in their health as notDurable): ${lostAtEdge}`,
      '',
    ].join('\n');
    appendFileSync(join(REPO_ROOT, 'bench/faults/RESULTS.md'), section);
    console.log(section);
    if (!report.ok || rows.some((r) => r.includes('never'))) process.exitCode = 1;
    await watcher.endAsync();
  } finally {
    await group?.close();
    await ingest?.close();
    await observer?.close();
    await store.close();
    await broker?.close();
    unmountAll();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    unmountAll();
    process.exit(130);
  });

main().catch((err: unknown) => {
  console.error(err);
  unmountAll();
  process.exit(1);
});
