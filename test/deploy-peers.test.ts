import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'mqtt';
import type { StoredReading } from '@tamky/protocol';
import { createLogger, loadConfigFile } from '@tamky/service-kit';
import { brokerConfigSchema, credentialsSchema, startBroker } from '@tamky/broker';
import { ingestConfigSchema } from '@tamky/ingest';
import { dashboardConfigSchema } from '@tamky/dashboard-server';
import { openStore, storeConfigSchema } from '@tamky/store';
import { requireBinary, startInfluxd, startRedis, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { compose, envFileOf, influxql, initInfluxAsImage, REPO_ROOT } from './deploy-support';

/**
 * The production configs in deploy/ against the real peers they name, with the secrets
 * deploy/scripts/init-secrets.ts generates: InfluxDB 1.x with authentication and the users its image
 * creates at first start, and Redis requiring the password, as docker-compose.yml starts them.
 */
const root = REPO_ROOT;
const log = createLogger('deploy-peers', { level: 'silent' });

let dir: string;
const envOf = (service: string) => envFileOf(dir, service);

/** Loads a deploy config with exactly the service's env file in the environment, as compose starts it. */
function withEnv<T>(service: string, load: () => T): T {
  const saved = { ...process.env };
  Object.assign(process.env, envOf(service));
  try {
    return load();
  } finally {
    process.env = saved;
  }
}

beforeAll(() => {
  dir = tempDir('deploy-peers');
  const made = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'deploy/scripts/init-secrets.ts'), '--dir', dir], {
    cwd: root,
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(made.stderr);
});

describe('InfluxDB 1.x as the compose deployment runs it', () => {
  let influx: Peer & { url: string };
  const db = () => compose.services.influxdb!.environment.INFLUXDB_DB as string;
  const query = (q: string, auth?: { user: string; password: string }) => influxql(influx.url, q, auth);

  beforeAll(async () => {
    influx = await startInfluxd({ auth: true });
    await initInfluxAsImage(influx.url, envOf('influxdb'));
  });
  afterAll(() => influx?.stop());

  const readings = (n: number): StoredReading[] =>
    Array.from({ length: n }, (_, i) => ({
      kind: 'air_station',
      device: 'an-my-air-1',
      gateway: 'gw-an-my',
      ward: 'an-my',
      ts: Date.now() - 60_000 + i * 1000,
      seq: i,
      values: { pm25: 10 + i },
    }));

  it('ingest writes and reads its history as its own user; the dashboard reads as its own user and cannot write', async () => {
    const ingestStore = withEnv('ingest', () => loadConfigFile(join(root, 'deploy/config/ingest.yaml'), ingestConfigSchema).store);
    const dashboardStore = withEnv(
      'dashboard',
      () => loadConfigFile(join(root, 'deploy/config/dashboard.yaml'), dashboardConfigSchema).store,
    );
    const local = (s: unknown) => storeConfigSchema.parse({ ...(s as object), url: influx.url });
    const writer = await openStore(local(ingestStore), { logger: log });
    const reader = await openStore(local(dashboardStore), { logger: log, readonly: true });
    try {
      await writer.writeBatch(readings(5));
      expect(await writer.sequences('gw-an-my')).toEqual([0, 1, 2, 3, 4]);
      const [series] = await reader.query({
        kind: 'air_station',
        fields: ['pm25'],
        from: Date.now() - 3_600_000,
        to: Date.now() + 60_000,
        devices: ['an-my-air-1'],
      });
      expect(series!.points.map(([, v]) => v)).toEqual([10, 11, 12, 13, 14]);
      expect((await reader.latest({ kind: 'air_station' })).map((r) => r.values.pm25)).toEqual([14]);

      // The dashboard's password cannot write, even around the store's own read-only guard.
      const res = await fetch(`${influx.url}/write?db=${db()}&precision=ms`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`dashboard:${envOf('dashboard').INFLUXDB_DASHBOARD_PASSWORD}`).toString('base64')}`,
        },
        body: `air_station,device=an-my-air-1 pm25=999 ${Date.now()}`,
      });
      expect(res.status).toBe(403);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('gives neither service administration: no databases or users created or dropped', async () => {
    const ingest = { user: 'ingest', password: envOf('ingest').INFLUXDB_INGEST_PASSWORD! };
    const dashboard = { user: 'dashboard', password: envOf('dashboard').INFLUXDB_DASHBOARD_PASSWORD! };
    for (const who of [ingest, dashboard]) {
      for (const q of [
        `DROP DATABASE "${db()}"`,
        'CREATE DATABASE other',
        `CREATE USER intruder WITH PASSWORD 'x-long-password-x' WITH ALL PRIVILEGES`,
      ]) {
        const r = await query(q, who);
        expect(r.error ?? `status ${r.status}`, `${who.user}: ${q}`).toMatch(
          /requires admin privilege|not authorized|authorization failed|status 403/,
        );
      }
    }
    // And a wrong password gets nothing at all.
    expect((await query(`SELECT * FROM air_station`, { user: 'ingest', password: 'wrong-password-0000' })).status).toBe(401);
  });
});

describe('Redis with a password, used by the broker', () => {
  let redis: Peer & { port: number; url: string };
  beforeAll(async () => {
    redis = await startRedis({ password: envOf('redis').REDIS_PASSWORD! });
  });
  afterAll(() => redis?.stop());

  const redisCli = (...args: string[]) =>
    spawnSync(requireBinary('redis-cli', 'redis-tools'), ['-p', String(redis.port), ...args], { encoding: 'utf8' });

  it('refuses clients without the password, and the broker started from deploy/config/broker.yaml keeps its sessions there', async () => {
    expect(redisCli('DBSIZE').stdout + redisCli('DBSIZE').stderr).toMatch(/NOAUTH/);
    const config = withEnv('broker', () => loadConfigFile(join(root, 'deploy/config/broker.yaml'), brokerConfigSchema));
    expect(config.persistence).toMatchObject({ type: 'redis' });
    const url = (config.persistence as { url: string }).url.replace('@redis:6379', `@127.0.0.1:${redis.port}`);
    const credentials = credentialsSchema.parse(parse(readFileSync(join(dir, 'credentials/broker-credentials.yaml'), 'utf8')));
    const broker = await startBroker(
      {
        ...config,
        listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
        credentialsFile: undefined,
        credentials,
        persistence: { type: 'redis', url },
        metrics: undefined,
      },
      { logger: log },
    );
    try {
      // Ingest's persistent session, with the MQTT password init-secrets put in ingest's env file.
      const client = await connect(`mqtt://127.0.0.1:${broker.ports.mqtt}`, {
        username: 'ingest',
        password: envOf('ingest').INGEST_MQTT_PASSWORD,
        clientId: 'ingest-1',
        clean: false,
        reconnectPeriod: 0,
      });
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      await client.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });
      await client.endAsync();
      const auth = ['--no-auth-warning', '-a', envOf('broker').REDIS_PASSWORD!];
      await waitFor(() => Number(redisCli(...auth, 'DBSIZE').stdout.trim()) > 0, { what: 'the session in Redis' });
      expect(redisCli(...auth, 'KEYS', '*').stdout).toMatch(/ingest-1/);
    } finally {
      await broker.close();
    }
  });
});
