import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cityModelSchema, parseConfig, type CityModel } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { freePort, spawnPeer, startRedis, tempDir, waitFor, waitForPort, type Peer } from '@tamky/test-support';
import { hashSecret } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngest } from '@tamky/ingest';
import { createSimDevice, startModbusTcpSlave } from '@tamky/firmware-sim';
import { REPO_ROOT } from '@tamky/demo';

/**
 * Issue 3's loss test, across real processes: simulated devices on Modbus TCP → the gateway CLI (its
 * own process, SQLite outbox) → the broker CLI (its own process, sessions in Redis) → ingest → SQLite.
 * The broker is restarted, then down for a 60 s outage, the gateway is killed with SIGKILL in the
 * middle of replaying the backlog, and the broker is killed with SIGKILL: afterwards the store holds every
 * sequence number the gateway assigned, exactly once.
 */
const GATEWAY = 'gw-outage';
const DEVICES = ['outage-noise-1', 'outage-noise-2', 'outage-noise-3'];
const log = createLogger('e2e-outage', { level: 'warn' });

const city: CityModel = parseConfig(
  cityModelSchema,
  {
    id: 'test-city',
    name: 'Test',
    lat: 15.57,
    lon: 108.47,
    wards: [{ id: 'an-my', name: 'An Mỹ', type: 'phuong', lat: 15.57, lon: 108.48, map: { x: 50, y: 50 } }],
    gateways: [{ id: GATEWAY, ward: 'an-my', name: 'Outage gateway' }],
    devices: DEVICES.map((id) => ({
      id,
      kind: 'noise_meter',
      name: id,
      ward: 'an-my',
      gateway: GATEWAY,
      lat: 15.57,
      lon: 108.48,
      pollIntervalMs: 200,
      zone: 'normal',
    })),
  },
  'gateway-outage.test.ts',
);

let dir: string;
let redis: Peer & { url: string };
let brokerPort: number;
let brokerConfig: string;
let broker: Peer | undefined;
let gateway: Peer | undefined;
let gatewayConfig: string;
let outboxPath: string;
let closeAll: Array<() => Promise<void>> = [];
let store: Awaited<ReturnType<typeof openStore>>;

const startBrokerProcess = async () => {
  broker = spawnPeer(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'broker/src/cli.ts'), '--config', brokerConfig], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  await waitForPort(brokerPort, `broker (${broker.output().slice(-300)})`);
};
const startGatewayProcess = () => {
  gateway = spawnPeer(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'edge/src/cli.ts'), '--config', gatewayConfig], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
};
/** The last sequence number the gateway assigned, and what is still waiting for a PUBACK. */
const outbox = () => {
  const db = new Database(outboxPath, { readonly: true, fileMustExist: true });
  try {
    const lastSeq = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'telemetry'").get() as { seq: number } | undefined)?.seq ?? 0;
    const pending = (db.prepare('SELECT seq FROM telemetry ORDER BY seq').all() as Array<{ seq: number }>).map((r) => r.seq);
    return { lastSeq, depth: pending.length, pending };
  } finally {
    db.close();
  }
};
const stored = () => store.sequences(GATEWAY);

/** For a failure message: whether missing readings still sit in ingest's session queue in Redis, or were dead-lettered. */
async function whereAre(seqs: number[]): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  const port = new URL(redis.url).port;
  const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', port, '--no-raw', ...args], { encoding: 'latin1' });
  const keys = cli('LRANGE', 'outgoing:ingest-outage', '0', '-1')
    .split('\n')
    .map((l) => l.replace(/^\d+\) "|"$/g, ''))
    .filter(Boolean);
  const inQueue = seqs.filter((q) => keys.some((k) => cli('GET', k).includes(`"seq":${q},`)));
  const letters = (await store.deadLetters({ limit: 1000 })).filter((l) => seqs.some((q) => l.raw.includes(`"seq":${q},`)));
  return `session queue holds ${keys.length} messages, of them the missing ${inQueue.join(',') || 'none'}; dead letters: ${letters.map((l) => l.reason).join(' | ') || 'none'}`;
}

beforeAll(async () => {
  dir = tempDir('e2e-outage');
  redis = await startRedis();
  brokerPort = await freePort();
  const secrets = { gateway: 'gateway-secret-0123456789', ingest: 'ingest-secret-0123456789' };
  brokerConfig = join(dir, 'broker.yaml');
  writeFileSync(
    brokerConfig,
    stringify({
      profile: 'production',
      listeners: { mqtt: { host: '127.0.0.1', port: brokerPort } },
      credentials: {
        gateways: [{ id: GATEWAY, secretHash: await hashSecret(secrets.gateway, { N: 1024 }) }],
        services: [{ username: 'ingest', role: 'ingest', secretHash: await hashSecret(secrets.ingest, { N: 1024 }) }],
      },
      persistence: { type: 'redis', url: redis.url },
    }),
  );
  await startBrokerProcess();

  store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') });
  const ingest = await startIngest(
    {
      mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, username: 'ingest', password: secrets.ingest, clientId: 'ingest-outage' },
      limitsDir: join(REPO_ROOT, 'config/limits'),
    },
    { store, city, logger: log },
  );
  const sims = DEVICES.map((id, i) =>
    createSimDevice(
      city.devices.find((d) => d.id === id)!,
      { city, unitId: i + 1 } as Parameters<typeof createSimDevice>[1],
    ),
  );
  const slave = await startModbusTcpSlave(sims);
  closeAll = [() => slave.close(), () => ingest.close(), () => store.close()];

  outboxPath = join(dir, 'outbox.db');
  gatewayConfig = join(dir, 'gateway.yaml');
  writeFileSync(
    gatewayConfig,
    stringify({
      gatewayId: GATEWAY,
      mqtt: {
        url: `mqtt://127.0.0.1:${brokerPort}`,
        username: GATEWAY,
        password: secrets.gateway,
        reconnect: { baseMs: 200, maxMs: 2000 },
      },
      // Replay slower than the backlog builds, so the kill lands mid-replay.
      outbox: { path: outboxPath, replayPerSecond: 60, batchSize: 10 },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
      devices: DEVICES.map((id, i) => ({ id, profile: 'noise_meter', bus: 'tcp-1', unitId: i + 1, pollIntervalMs: 200 })),
    }),
  );
  startGatewayProcess();
});

afterAll(async () => {
  await gateway?.stop();
  await broker?.stop();
  for (const close of closeAll.reverse()) await close().catch(() => undefined);
  await redis?.stop();
});

describe("a gateway through a broker restart, a 60 s outage, its own kill -9 and the broker's", () => {
  it('delivers every sequence number to the store exactly once', async () => {
    await waitFor(async () => (await stored()).length >= 20, {
      what: `readings in the store (gateway: ${gateway?.output().slice(-300)})`,
      timeoutMs: 30_000,
    });

    // A broker restart (graceful), then a 60 s outage while the devices keep being read.
    await broker!.stop();
    await startBrokerProcess();
    await waitFor(async () => (await stored()).length >= outbox().lastSeq - 30, {
      what: 'the gateway back after the restart',
      timeoutMs: 30_000,
    });
    await broker!.stop();
    const outageStart = outbox().lastSeq;
    await new Promise((r) => setTimeout(r, 60_000));
    const backlog = outbox().depth;
    expect(outbox().lastSeq - outageStart).toBeGreaterThan(300); // the gateway kept reading during the outage
    expect(backlog).toBeGreaterThan(300); // and kept it all in its outbox
    await startBrokerProcess();

    // SIGKILL the gateway while it replays the backlog.
    const before = (await stored()).length;
    await waitFor(async () => (await stored()).length >= before + 60, { what: 'replay under way', timeoutMs: 30_000 });
    await gateway!.kill();
    expect(outbox().depth).toBeGreaterThan(0); // killed mid-replay indeed
    startGatewayProcess();

    // The broker is killed with SIGKILL while the replay resumes: what it acknowledged is in Redis, what
    // it had not is still in the gateway's outbox.
    await waitFor(async () => (await stored()).length >= before + 200, {
      what: 'replay resumed after the gateway restart',
      timeoutMs: 30_000,
    });
    await broker!.kill();
    await startBrokerProcess();

    await waitFor(() => outbox().depth === 0, { what: 'the outbox drained', timeoutMs: 90_000, intervalMs: 500 });
    await gateway!.stop();
    // A reading taken while the gateway shut down may stay in its outbox (durable, sent at the next start):
    // it is accounted for there, and only the newest readings can be in that position.
    const { lastSeq, pending } = outbox();
    expect(pending.length).toBeLessThan(5);
    expect(pending).toEqual(Array.from({ length: pending.length }, (_, i) => lastSeq - pending.length + 1 + i));
    const published = lastSeq - pending.length;
    const seqs = await waitFor(
      async () => {
        const s = await stored();
        return s.length >= published ? s : undefined;
      },
      { what: `all ${published} published readings stored`, timeoutMs: 30_000 },
    ).catch(async (err) => {
      const have = new Set(await stored());
      const missing = Array.from({ length: published }, (_, i) => i + 1).filter((q) => !have.has(q));
      throw new Error(
        `${String(err)}: ${missing.length} missing, e.g. ${missing.slice(0, 20).join(',')}; ${await whereAre(missing.slice(0, 5))}; broker: ${broker?.output().slice(-1500)}`,
      );
    });

    expect(new Set(seqs).size).toBe(seqs.length); // none twice
    expect(seqs).toEqual(Array.from({ length: published }, (_, i) => i + 1)); // none missing, none invented
  }, 300_000); // the 60 s broker outage issue 3 asks for, then the replay of what the gateway held back
});
