import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '@tamky/broker';
import { createSimDevice, startModbusTcpSlave, TAM_KY, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayHealthSchema, topics, type Device, type GatewayHealth, type PushedConfig } from '@tamky/protocol';
import { createLogger, fleetPrivateKey, generateFleetKeys, hashSecret, signConfig } from '@tamky/service-kit';
import { spawnPeer, tempDir, waitFor, type Peer } from '@tamky/test-support';

/**
 * Configuration pushed from the centre to a real gateway process through our broker: signed, versioned, persisted
 * beside the outbox, kept across a restart (with a poll interval set by command), refused when forged or
 * unrunnable, and rolled back when its devices do not answer within the deadline. The test plays the centre with
 * the dashboard's broker identity and the fleet signing key.
 */
const root = join(import.meta.dirname, '..');
const cli = join(root, 'edge/src/cli.ts');
const log = createLogger('fleet-config', { level: 'silent' });
const GW = 'gw-fleet';
const cheap = { N: 1024, r: 8, p: 1 };

const device = (id: string): Device => ({
  id,
  kind: 'noise_meter',
  name: id,
  ward: 'an-my',
  gateway: GW,
  lat: 15.57,
  lon: 108.47,
  pollIntervalMs: 1000,
  tags: [],
});

let dir: string;
let broker: BrokerHandle;
let slave: TcpSlave;
let centre: MqttClient;
let gateway: Peer | undefined;
let outboxPath: string;
const healths: GatewayHealth[] = [];
const events: Array<{ type: string; detail?: Record<string, unknown> }> = [];
const keys = generateFleetKeys();
const signingKey = fleetPrivateKey(keys.privateKeyPem);
const url = () => `mqtt://127.0.0.1:${broker.ports.mqtt}`;

const startGatewayProcess = () => {
  gateway = spawnPeer(process.execPath, ['--import', 'tsx', cli, '--config', join(dir, 'gw.yaml')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  return gateway;
};

const push = async (version: number, config: PushedConfig, key = signingKey) => {
  const doc = signConfig({ gateway: GW, version, config, issuedAt: Date.now() }, key);
  await centre.publishAsync(topics.gatewayConfig(GW), JSON.stringify(doc), { qos: 1, retain: true });
  return doc;
};

/** The first health report published after `since` that satisfies `test`. */
const healthWhere = (what: string, test: (h: GatewayHealth) => boolean, since = Date.now(), timeoutMs = 20_000) =>
  waitFor(() => healths.find((h) => h.ts >= since && test(h)), {
    what: `${what} (last health: ${JSON.stringify(healths.at(-1)?.fleet)}; gateway: ${gateway?.output().slice(-1500)})`,
    timeoutMs,
    intervalMs: 100,
  });
const intervals = (h: GatewayHealth) => Object.fromEntries(h.devices.map((d) => [d.device, d.pollIntervalMs]));
const persisted = () => JSON.parse(readFileSync(`${outboxPath}.state.json`, 'utf8'));

beforeAll(async () => {
  dir = tempDir('fleet-config');
  outboxPath = join(dir, 'gw.db');
  broker = await startBroker(
    {
      profile: 'production',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [
          { id: GW, secretHash: await hashSecret('gateway-secret-1', cheap) },
          { id: 'gw-other', secretHash: await hashSecret('gateway-secret-2', cheap) },
        ],
        services: [{ username: 'dashboard', secretHash: await hashSecret('dashboard-secret', cheap), role: 'dashboard' }],
      },
    },
    { logger: log },
  );
  slave = await startModbusTcpSlave(
    [createSimDevice(device('noise-1'), { city: TAM_KY, unitId: 1 }), createSimDevice(device('noise-2'), { city: TAM_KY, unitId: 2 })],
    { log },
  );
  writeFileSync(join(dir, 'fleet.pub'), keys.publicKeyPem);
  writeFileSync(
    join(dir, 'gw.yaml'),
    stringify({
      gatewayId: GW,
      mqtt: { url: url(), username: GW, password: 'gateway-secret-1', reconnect: { baseMs: 100, maxMs: 500 } },
      outbox: { path: outboxPath },
      health: { intervalMs: 1000 },
      fleet: { publicKeyFile: join(dir, 'fleet.pub'), configDeadlineMs: 8000 },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port, timeoutMs: 300 }],
      devices: [
        { id: 'noise-1', profile: 'noise_meter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 1000 },
        { id: 'noise-2', profile: 'noise_meter', bus: 'tcp-1', unitId: 2, pollIntervalMs: 1000 },
        // Wired in the file but nothing answers at unit 9: enabling it is a configuration the gateway cannot poll.
        { id: 'noise-ghost', profile: 'noise_meter', bus: 'tcp-1', unitId: 9, pollIntervalMs: 1000, enabled: false },
      ],
    }),
  );
  centre = await mqtt.connectAsync(url(), { username: 'dashboard', password: 'dashboard-secret', clientId: 'dashboard-fleet-test' });
  centre.on('message', (topic, payload) => {
    const json = JSON.parse(payload.toString());
    if (topic === topics.health(GW)) healths.push(gatewayHealthSchema.parse(json));
    if (topic === topics.event(GW)) events.push(json);
  });
  await centre.subscribeAsync([topics.health(GW), topics.event(GW)], { qos: 1 });
  startGatewayProcess();
  await healthWhere('a first health report', () => true, 0, 30_000);
});

afterAll(async () => {
  await gateway?.stop();
  await centre?.endAsync();
  await slave?.close();
  await broker?.close();
});

describe('configuration pushed from the centre', () => {
  it('only the centre may publish a gateway its configuration: the gateway itself is cut off, another cannot listen', async () => {
    const impostor = await mqtt.connectAsync(url(), {
      username: GW,
      password: 'gateway-secret-1',
      clientId: `${GW}:tool`,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((r) => impostor.once('close', () => r()));
    impostor.publish(topics.gatewayConfig(GW), '{"type":"gateway_config"}', { qos: 1, retain: true });
    await closed;
    impostor.end(true);
    const other = await mqtt.connectAsync(url(), {
      username: 'gw-other',
      password: 'gateway-secret-2',
      clientId: 'gw-other',
      reconnectPeriod: 0,
    });
    // SUBACK 0x80: mqtt.js turns it into a rejection.
    await expect(other.subscribeAsync(topics.gatewayConfig(GW), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect((await other.subscribeAsync(topics.gatewayConfig('gw-other'), { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    await other.endAsync();
  });

  it('applies a signed push, persists it and reports its version and hash', async () => {
    const since = Date.now();
    const doc = await push(1, {
      devices: [
        { id: 'noise-1', pollIntervalMs: 200 },
        { id: 'noise-2', pollIntervalMs: 400 },
      ],
    });
    await waitFor(() => events.find((e) => e.type === 'config_applied' && e.detail?.version === 1), {
      what: `version 1 applied (gateway: ${gateway?.output().slice(-1500)})`,
    });
    const h = await healthWhere('version 1 running', (x) => x.fleet?.configVersion === 1 && intervals(x)['noise-2'] === 400, since);
    expect(h.fleet).toEqual({ configVersion: 1, configHash: doc.hash, rollback: null });
    expect(intervals(h)).toEqual({ 'noise-1': 200, 'noise-2': 400 });
    expect(persisted()).toMatchObject({ current: { version: 1, hash: doc.hash }, trial: false });
  });

  it('refuses a push signed with another key and keeps running version 1', async () => {
    const since = Date.now();
    const forger = fleetPrivateKey(generateFleetKeys().privateKeyPem);
    await push(2, { devices: [{ id: 'noise-1', pollIntervalMs: 5000 }] }, forger);
    const h = await healthWhere('the forged push refused', (x) => x.fleet?.rollback?.rejected === '2', since);
    expect(h.fleet).toMatchObject({ configVersion: 1, rollback: { kind: 'config', running: '1' } });
    expect(h.fleet?.rollback?.reason).toMatch(/signature/);
    expect(intervals(h)).toEqual({ 'noise-1': 200, 'noise-2': 400 });
  });

  it('keeps the pushed config and a poll interval set by command across a restart', async () => {
    const cmdId = `cmd-${Date.now()}`;
    const results: unknown[] = [];
    centre.on('message', (topic, payload) => topic === topics.commandResult(GW) && results.push(JSON.parse(payload.toString())));
    await centre.subscribeAsync(topics.commandResult(GW), { qos: 1 });
    await centre.publishAsync(
      topics.command(GW),
      JSON.stringify({ id: cmdId, type: 'set_poll_interval', device: 'noise-2', intervalMs: 700 }),
      {
        qos: 1,
      },
    );
    await waitFor(() => results.find((r) => (r as { id: string }).id === cmdId), { what: 'the command result' });
    expect(persisted().pollIntervals).toEqual({ 'noise-2': 700 });

    await gateway!.stop(); // SIGTERM: a clean stop, as systemd does
    const since = Date.now();
    startGatewayProcess();
    const h = await healthWhere('the restarted gateway', (x) => x.uptimeS < 30, since, 30_000);
    expect(h.fleet?.configVersion).toBe(1);
    expect(intervals(h)).toEqual({ 'noise-1': 200, 'noise-2': 700 });
  });

  it('rolls back a config whose devices do not answer within the deadline and remembers the refusal', async () => {
    const since = Date.now();
    await push(3, {
      devices: [
        { id: 'noise-1', pollIntervalMs: 200 },
        { id: 'noise-2', pollIntervalMs: 400 },
        { id: 'noise-ghost', pollIntervalMs: 200 },
      ],
    });
    const h = await healthWhere('version 3 rolled back', (x) => x.fleet?.rollback?.rejected === '3', since);
    expect(h.fleet).toMatchObject({ configVersion: 1, rollback: { kind: 'config', rejected: '3', running: '1' } });
    expect(h.fleet?.rollback?.reason).toMatch(/noise-ghost/);
    // The previous configuration is back, with the interval set by command.
    const after = await healthWhere('version 1 polling again', (x) => x.devices.length === 2, Date.now());
    expect(intervals(after)).toEqual({ 'noise-1': 200, 'noise-2': 700 });
    expect(persisted()).toMatchObject({
      current: { version: 1 },
      trial: false,
      refusedConfig: { version: 3 },
      pollIntervals: { 'noise-2': 700 },
    });
  });

  it('refuses a config naming a device the gateway has no wiring for, without trying it', async () => {
    const since = Date.now();
    await push(4, {
      devices: [
        { id: 'noise-1', pollIntervalMs: 200 },
        { id: 'noise-new', pollIntervalMs: 1000 },
      ],
    });
    const h = await healthWhere('version 4 refused', (x) => x.fleet?.rollback?.rejected === '4', since);
    expect(h.fleet?.rollback?.reason).toMatch(/noise-new.*not wired/);
    expect(h.fleet?.configVersion).toBe(1);
  });

  it('takes the next good version after refusals', async () => {
    const since = Date.now();
    const doc = await push(5, { devices: [{ id: 'noise-1', pollIntervalMs: 300 }] });
    const h = await healthWhere('version 5 running', (x) => x.fleet?.configVersion === 5, since);
    expect(h.fleet?.configHash).toBe(doc.hash);
    expect(intervals(h)).toEqual({ 'noise-1': 300 });
  });

  it('rolls back a config whose trial was cut short by a crash, at the next start', async () => {
    await push(6, {
      devices: [
        { id: 'noise-1', pollIntervalMs: 300 },
        { id: 'noise-ghost', pollIntervalMs: 300 },
      ],
    });
    await waitFor(() => persisted().current?.version === 6 && persisted().trial === true, { what: 'version 6 on trial', intervalMs: 20 });
    await gateway!.kill(); // SIGKILL during the trial
    const since = Date.now();
    startGatewayProcess();
    const h = await healthWhere('version 6 rolled back at start', (x) => x.fleet?.rollback?.rejected === '6', since, 30_000);
    expect(h.fleet).toMatchObject({ configVersion: 5, rollback: { kind: 'config', running: '5' } });
    expect(h.fleet?.rollback?.reason).toMatch(/restarted before configuration version 6 proved healthy/);
    expect(intervals(h)).toEqual({ 'noise-1': 300 });
  });
});
