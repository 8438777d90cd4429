import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { telemetryBatchSchema, topics } from '@tamky/protocol';
import { spawnPeer, startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { collector } from './helpers/broker';
import { quietLog, simCity, simDevice } from './helpers/sim';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli.ts');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const run = (config: string) =>
  spawnPeer(process.execPath, ['--import', 'tsx', cli, '--config', config], { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn' } });
/** Until the gateway process has started and published its online status (a gateway that exited says why). */
const online = (p: Peer, statuses: () => Array<{ state?: string }>) =>
  waitFor(
    () => {
      if (p.child.exitCode !== null) throw new Error(`the gateway exited with ${p.child.exitCode}: ${p.output().slice(-400)}`);
      return statuses().at(-1)?.state === 'online';
    },
    { what: 'the gateway started and online', timeoutMs: 45_000, intervalMs: 100 },
  );
const exited = (p: Peer) =>
  new Promise<number | null>((r) => (p.child.exitCode !== null ? r(p.child.exitCode) : p.child.once('exit', (code) => r(code))));

describe('gateway CLI', () => {
  let broker: Peer & { url: string };
  let slave: TcpSlave;
  let dir: string;

  beforeAll(async () => {
    broker = await startMosquitto();
    const sims = [1, 2].map((u) => createSimDevice(simDevice('noise_meter', `noise-${u}`), { city: simCity, unitId: u }));
    slave = await startModbusTcpSlave(sims, { log: quietLog });
    dir = tempDir('edge-cli');
  });
  afterAll(async () => {
    await slave?.close();
    await broker?.stop();
  });

  const config = (devices: number[]) => ({
    gatewayId: 'gw-cli',
    mqtt: { url: broker.url, reconnect: { baseMs: 100, maxMs: 500 } },
    outbox: { path: join(dir, 'gw.db') },
    buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
    devices: devices.map((u) => ({ id: `noise-${u}`, profile: 'noise_meter', bus: 'tcp-1', unitId: u, pollIntervalMs: 200 })),
  });

  it('refuses an invalid config with exit code 2 and a message naming file, device and field', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      stringify({ ...config([1]), devices: [{ id: 'noise-1', profile: 'noise_meter', bus: 'tcp-1', overrides: { lavg: { offset: 1 } } }] }),
    );
    const p = run(file);
    expect(await exited(p)).toBe(2);
    expect(p.output()).toContain(`${file}: devices[0].overrides.lavg: device "noise-1": field "lavg" is not in profile "noise_meter"`);
  });

  it('reload_config picks up a new device; SIGTERM publishes offline/shutdown; kill -9 leaves the last will', async () => {
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, stringify(config([1])));
    const sub = await collector(broker.url, 'city/v1/gw/gw-cli/#');
    let gw = run(file);
    try {
      const statuses = () => sub.messages.filter((m) => m.topic === topics.status('gw-cli')).map((m) => m.json);
      const devices = () =>
        new Set(
          sub.messages
            .filter((m) => m.topic === topics.telemetry('gw-cli'))
            .flatMap((m) => telemetryBatchSchema.parse(m.json).readings.map((r) => r.device)),
        );
      // The process's own start (tsx compiling the sources on a fresh clone) is no part of what is waited for
      // next: the readings are expected once the gateway says it is online, not counted from the spawn.
      await online(gw, statuses);
      await waitFor(() => devices().has('noise-1'), { what: `readings from noise-1 (${gw.output().slice(-400)})`, timeoutMs: 20_000 });
      expect(devices().has('noise-2')).toBe(false);

      writeFileSync(file, stringify(config([1, 2])));
      const centre = await mqtt.connectAsync(broker.url);
      await centre.publishAsync(topics.command('gw-cli'), JSON.stringify({ id: 'r-1', type: 'reload_config' }), { qos: 1 });
      const result = await waitFor(() => sub.messages.find((m) => m.topic === topics.commandResult('gw-cli') && m.json.id === 'r-1'), {
        what: 'reload result',
      });
      expect(result.json).toMatchObject({ ok: true, data: { devices: 2 } });
      await waitFor(() => devices().has('noise-2'), { what: 'readings from the added device' });
      await centre.endAsync();

      await gw.stop();
      expect(gw.child.exitCode).toBe(0);
      await waitFor(() => statuses().at(-1)?.state === 'offline', { what: 'offline status' });
      expect(statuses().at(-1)).toMatchObject({ state: 'offline', reason: 'shutdown' });

      gw = run(file);
      await online(gw, statuses);
      await gw.kill();
      await waitFor(() => statuses().at(-1)?.state === 'offline', { what: 'the last will', timeoutMs: 20_000 });
      expect(statuses().at(-1)).toMatchObject({ state: 'offline', reason: 'lwt' });
    } finally {
      await gw.stop();
      await sub.close();
    }
  });
});
