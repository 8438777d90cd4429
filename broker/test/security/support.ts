import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, spawnPeer, tempDir, waitForPort, type Peer } from '@tamky/test-support';
import { hashForTest } from '../helpers';

const repo = resolve(import.meta.dirname, '../../..');

/** The test credentials as a file a broker process reads (and re-reads on change). */
export async function writeCredentialsFile(extraGateways: string[] = []): Promise<string> {
  const file = join(tempDir('broker-sec-creds'), 'credentials.yaml');
  writeFileSync(file, await credentialsYaml(extraGateways));
  return file;
}

export async function credentialsYaml(extraGateways: string[] = []): Promise<string> {
  return [
    'gateways:',
    `  - { id: gw-a, secretHash: "${await hashForTest('secret-a')}" }`,
    `  - { id: gw-b, secretHash: "${await hashForTest('secret-b')}" }`,
    ...extraGateways,
    'services:',
    `  - { username: ingest, role: ingest, secretHash: "${await hashForTest('secret-ingest')}" }`,
    `  - { username: dashboard, role: dashboard, secretHash: "${await hashForTest('secret-dashboard')}" }`,
  ].join('\n');
}

export type BrokerProcess = Peer & { port: number; url: string };

/**
 * A production-profile broker as its own OS process, started through the real CLI (node --import tsx, so
 * signals reach it), so a crash is a process exit and a kill -9 is a real unclean stop.
 */
export async function startBrokerProcess(yamlLines: string[]): Promise<BrokerProcess> {
  const dir = tempDir('broker-sec');
  const port = await freePort();
  const config = join(dir, 'broker.yaml');
  writeFileSync(config, ['profile: production', `listeners: { mqtt: { host: 127.0.0.1, port: ${port} } }`, ...yamlLines].join('\n'));
  const peer = spawnPeer(process.execPath, ['--import', 'tsx', join(repo, 'broker/src/cli.ts'), '--config', config], {
    cwd: repo,
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  await waitForPort(port, `broker process (${peer.output().slice(-500)})`, 30_000);
  return { ...peer, port, url: `mqtt://127.0.0.1:${port}` };
}

export const isRunning = (p: Peer) => p.child.exitCode === null && p.child.signalCode === null;

/** ioredis and msgpack-lite exactly as aedes-persistence-redis uses them, to read and write its keys. */
const persistenceRequire = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis/asyncPersistence.js'));
type RedisClient = {
  rpush(key: string, value: string): Promise<number>;
  lrange(key: string, start: number, end: number): Promise<string[]>;
  set(key: string, value: Buffer): Promise<unknown>;
  hget(key: string, field: string): Promise<string | null>;
  quit(): Promise<unknown>;
};
const Redis = persistenceRequire('ioredis') as new (url: string) => RedisClient;
const msgpack = persistenceRequire('msgpack-lite') as { encode(v: unknown): Buffer };

export function redisClient(url: string): RedisClient {
  return new Redis(url);
}

/**
 * Writes a will the way aedes-persistence-redis 12 stores one, as a broker without the CONNECT check did
 * (nothing checked, no owner recorded), under a broker id that is no longer alive.
 */
export async function plantUncheckedWill(
  redis: RedisClient,
  will: { brokerId: string; clientId: string; topic: string; payload: string; retain: boolean; qos: 0 | 1 },
): Promise<string> {
  const key = `will:${will.brokerId}:${encodeURIComponent(will.clientId)}`;
  await redis.set(
    key,
    msgpack.encode({
      cmd: 'publish',
      topic: will.topic,
      payload: Buffer.from(will.payload),
      qos: will.qos,
      retain: will.retain,
      clientId: will.clientId,
      brokerId: will.brokerId,
    }),
  );
  await redis.rpush('will', key);
  return key;
}

export const storedWillKeys = (redis: RedisClient) => redis.lrange('will', 0, -1);
