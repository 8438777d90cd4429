import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { provisionDynsec } from '@tamky/broker/mosquitto';
import { telemetryBatchSchema, topics } from '@tamky/protocol';
import { spawnPeer, startMosquittoDynsec, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { quietLog, simCity, simDevice } from './helpers/sim';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli.ts');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SECRETS = { gateway: 'gw-mosq-secret-1', ingest: 'ingest-secret-01', dashboard: 'dashboard-secret' };

/**
 * The gateway CLI against Mosquitto 2 with dynamic security provisioned from our ACL model
 * (docs/growth-mqtt.md): simulated devices on Modbus TCP → the gateway (its own process, its own credentials)
 * → Mosquitto → an ingest-role and a dashboard-role client.
 */
describe('gateway CLI on Mosquitto with dynamic security', () => {
  let broker: Peer & { url: string; admin: { username: string; password: string } };
  let slave: TcpSlave;
  let gateway: Peer | undefined;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startMosquittoDynsec();
    await provisionDynsec({
      admin: { url: broker.url, ...broker.admin },
      gateways: [{ id: 'gw-mosq', secret: SECRETS.gateway }],
      services: [
        { username: 'ingest', secret: SECRETS.ingest, role: 'ingest' },
        { username: 'dashboard', secret: SECRETS.dashboard, role: 'dashboard' },
      ],
    });
    slave = await startModbusTcpSlave([createSimDevice(simDevice('noise_meter', 'noise-1'), { city: simCity, unitId: 1 })], {
      log: quietLog,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    for (const c of clients) await c.endAsync(true);
    await slave?.close();
    await broker?.stop();
  });

  it('publishes numbered readings ingest receives, answers the dashboard’s command, and leaves its will', async () => {
    const connect = async (username: 'ingest' | 'dashboard') => {
      const c = await mqtt.connectAsync(broker.url, {
        username,
        password: SECRETS[username],
        clientId: `${username}-1`,
        reconnectPeriod: 0,
      });
      clients.push(c);
      return c;
    };
    const ingest = await connect('ingest');
    const seqs: number[] = [];
    const statuses: string[] = [];
    ingest.on('message', (topic, payload) => {
      if (topic === topics.telemetry('gw-mosq'))
        seqs.push(...telemetryBatchSchema.parse(JSON.parse(payload.toString())).readings.map((r) => r.seq));
      if (topic === topics.status('gw-mosq'))
        statuses.push((JSON.parse(payload.toString()) as { state: string; reason?: string }).reason ?? 'online');
    });
    await ingest.subscribeAsync([topics.telemetry('gw-mosq'), topics.status('gw-mosq')], { qos: 1 });
    const dashboard = await connect('dashboard');
    const results: unknown[] = [];
    dashboard.on('message', (_t, payload) => results.push(JSON.parse(payload.toString())));
    await dashboard.subscribeAsync(topics.commandResult('gw-mosq'), { qos: 1 });

    const dir = tempDir('edge-mosq');
    const config = join(dir, 'gw.yaml');
    writeFileSync(
      config,
      stringify({
        gatewayId: 'gw-mosq',
        mqtt: { url: broker.url, username: 'gw-mosq', password: SECRETS.gateway, reconnect: { baseMs: 100, maxMs: 500 } },
        outbox: { path: join(dir, 'gw.db') },
        buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
        devices: [{ id: 'noise-1', profile: 'noise_meter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 200 }],
      }),
    );
    gateway = spawnPeer(process.execPath, ['--import', 'tsx', cli, '--config', config], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    const gw = gateway;
    await waitFor(() => seqs.length >= 5, { what: `readings at ingest (${gw.output().slice(-500)})`, timeoutMs: 30_000 });

    await dashboard.publishAsync(topics.command('gw-mosq'), JSON.stringify({ id: 'r-1', type: 'reload_config' }), { qos: 1 });
    await waitFor(() => results.length > 0, { what: 'the command result at the dashboard' });
    expect(results[0]).toMatchObject({ id: 'r-1', ok: true });

    await gw.kill();
    await waitFor(() => statuses.includes('lwt'), { what: 'the last will', timeoutMs: 20_000 });
    // The gateway's own numbering, from its first reading on, without gaps or repeats.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
  });
});
