import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { topics } from '@tamky/protocol';
import { spawnPeer, startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { collector, switchableProxy } from './helpers/broker';
import { gapsAndDuplicates, receivedSeqs } from './helpers/seqs';
import { quietLog, simCity, simDevice } from './helpers/sim';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli.ts');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The gateway CLI as a child process, killed with SIGKILL in the middle of replaying a backlog. */
describe('kill -9 of the gateway mid-replay', () => {
  let broker: Peer & { url: string; port: number };
  let link: Awaited<ReturnType<typeof switchableProxy>>;
  let slave: TcpSlave;
  let sub: Awaited<ReturnType<typeof collector>>;
  let child: Peer | undefined;
  let dbPath: string;
  let configFile: string;

  const runGateway = () =>
    spawnPeer(process.execPath, ['--import', 'tsx', cli, '--config', configFile], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
  const outboxRows = () => {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const seq = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'telemetry'").get() as { seq: number } | undefined)?.seq ?? 0;
      const depth = (db.prepare('SELECT COUNT(*) AS n FROM telemetry').get() as { n: number }).n;
      return { lastSeq: seq, depth };
    } finally {
      db.close();
    }
  };

  /** Until a gateway process is polling: its outbox holds a reading numbered after `afterSeq`. */
  const started = (p: Peer, afterSeq: number) =>
    waitFor(
      () => {
        if (p.child.exitCode !== null) throw new Error(`the gateway exited with ${p.child.exitCode}: ${p.output().slice(-500)}`);
        return outboxRows().lastSeq > afterSeq;
      },
      { what: 'the gateway started and polling', timeoutMs: 45_000, intervalMs: 100 },
    );

  beforeAll(async () => {
    broker = await startMosquitto();
    sub = await collector(broker.url, topics.telemetry('gw-crash'), 'edge-crash-sub');
    // The gateway reaches the broker through a link that is down at first: it starts during an
    // outage and builds a backlog, while the test's subscriber stays connected to the broker.
    link = await switchableProxy(broker.port);
    const sims = Array.from({ length: 5 }, (_, i) =>
      createSimDevice(simDevice('noise_meter', `noise-${i}`), { city: simCity, unitId: i + 1 }),
    );
    slave = await startModbusTcpSlave(sims, { log: quietLog });
    const dir = tempDir('edge-crash');
    dbPath = join(dir, 'gw.db');
    configFile = join(dir, 'gw.yaml');
    writeFileSync(
      configFile,
      stringify({
        gatewayId: 'gw-crash',
        mqtt: { url: link.url, reconnect: { baseMs: 100, maxMs: 500 } },
        outbox: { path: dbPath, replayPerSecond: 150, batchSize: 20 },
        buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
        devices: sims.map((s, i) => ({ id: s.id, profile: 'noise_meter', bus: 'tcp-1', unitId: i + 1, pollIntervalMs: 100 })),
      }),
    );
  });

  afterAll(async () => {
    await child?.stop();
    await sub?.close();
    await link?.down();
    await slave?.close();
    await broker?.stop();
  });

  it('after SIGKILL and restart every seq arrives: no gaps, duplicates only of unacknowledged ones', async () => {
    const topic = topics.telemetry('gw-crash');
    child = runGateway();
    // The backlog is timed from the gateway's first reading, not from the spawn: the process's own start
    // (tsx compiling the sources on a fresh clone) is no part of it.
    await started(child, 0);
    // A backlog large enough that the kill below lands mid-replay even if this process is slow to notice:
    // replay drains it by about 100 readings/s, so 250 left after the first 150 leave seconds, not a tick.
    await waitFor(() => outboxRows().depth >= 400, {
      what: 'a backlog in the outbox',
      timeoutMs: 25_000,
      intervalMs: 200,
    });
    await link.up();
    // Replay runs at 150 readings/s (50/s of them new): kill once some, not all, of the backlog has been delivered.
    await waitFor(() => receivedSeqs(sub.messages, topic).length >= 150, { what: 'replay under way', timeoutMs: 20_000 });
    await child.kill();
    const atKill = outboxRows();
    expect(atKill.depth).toBeGreaterThan(0); // killed mid-replay indeed
    const receivedBeforeRestart = receivedSeqs(sub.messages, topic).length;

    child = runGateway();
    const restarted = child;
    await started(restarted, atKill.lastSeq);
    await waitFor(() => gapsAndDuplicates(receivedSeqs(sub.messages, topic), atKill.lastSeq).missing.length === 0, {
      what: `every seq up to ${atKill.lastSeq}`,
      timeoutMs: 25_000,
      intervalMs: 200,
    }).catch((err: Error) => {
      const { missing } = gapsAndDuplicates(receivedSeqs(sub.messages, topic), atKill.lastSeq);
      throw new Error(
        `${err.message}; missing ${missing.length} (first ${missing.slice(0, 5).join(', ')}); outbox ${JSON.stringify(outboxRows())}; gateway output: ${restarted.output().slice(-1500)}`,
      );
    });
    const seqs = receivedSeqs(sub.messages, topic);
    const { missing, duplicates } = gapsAndDuplicates(seqs, atKill.lastSeq);
    expect(missing).toEqual([]);
    // Seqs continue after the restart rather than starting again.
    expect(Math.max(...seqs)).toBeGreaterThanOrEqual(atKill.lastSeq);
    // Duplicates can only be readings sent but not acknowledged at the kill: at most the in-flight window.
    expect(duplicates).toBeLessThanOrEqual(4 * 20);
    expect(duplicates).toBeLessThan(receivedBeforeRestart); // acknowledged readings were not sent again
    console.log(
      `kill -9 mid-replay: ${atKill.lastSeq} readings, ${receivedBeforeRestart} received before the kill, ${duplicates} duplicates after restart, 0 gaps`,
    );
  });
});
