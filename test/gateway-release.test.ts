import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tamky/service-kit';
import { createSimDevice, startModbusTcpSlave, TAM_KY } from '@tamky/firmware-sim';
import { topics, type Device } from '@tamky/protocol';
import { spawnPeer, startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { buildGatewayRelease, type GatewayRelease } from '../deploy/scripts/gateway-release';

/**
 * The gateway as a box runs it: the release artifact built from this checkout, unpacked in a folder with no
 * node_modules above it, started with plain `node` (no tsx, no TypeScript, no workspace packages), polling a
 * Modbus TCP device and publishing to a real broker.
 */
const root = join(import.meta.dirname, '..');
const log = createLogger('gateway-release', { level: 'silent' });
const edgePackage = JSON.parse(readFileSync(join(root, 'edge/package.json'), 'utf8')) as { version: string };

let release: GatewayRelease;
let unpacked: string;
let broker: Awaited<ReturnType<typeof startMosquitto>>;
let slave: Awaited<ReturnType<typeof startModbusTcpSlave>>;
let gateway: Peer | undefined;

beforeAll(async () => {
  release = await buildGatewayRelease(tempDir('gateway-release-out'));
  const box = tempDir('gateway-release-box');
  execFileSync('tar', ['-xzf', release.tarball, '-C', box]);
  unpacked = join(box, `tamky-gateway-${release.manifest.version}`);
  [broker, slave] = await Promise.all([
    startMosquitto(),
    startModbusTcpSlave([createSimDevice(device, { city: TAM_KY, unitId: 1 })], { log }),
  ]);
});

afterAll(async () => {
  await gateway?.stop();
  await slave?.close();
  await broker?.stop();
});

const device: Device = {
  id: 'noise-rel-1',
  kind: 'noise_meter',
  name: 'noise-rel-1',
  ward: 'an-my',
  gateway: 'gw-release',
  lat: 15.57,
  lon: 108.47,
  pollIntervalMs: 1000,
  tags: [],
};

/** Where the unit expects the release, and its config. */
const INSTALLED = '/opt/tamky/gateway/current/';
const UNIT_CONFIG = '/etc/tamky/gateway.yaml';
function unitCommand(): { node: string; args: string[] } {
  const unit = readFileSync(join(unpacked, 'deploy/tamky-gateway.service'), 'utf8');
  const [node, ...args] = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ');
  return { node: node!, args };
}

describe('gateway release artifact', () => {
  it('is one versioned tarball with a manifest inside and, with its SHA-256, beside it', () => {
    expect(release.tarball).toMatch(new RegExp(`tamky-gateway-${edgePackage.version}-${process.platform}-${process.arch}\\.tgz$`));
    const inside = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8'));
    const beside = JSON.parse(readFileSync(release.manifestFile, 'utf8'));
    expect(inside).toMatchObject({
      name: 'tamky-gateway',
      version: edgePackage.version,
      entry: 'dist/cli.js',
      nodeAbi: process.versions.modules,
    });
    expect(beside).toEqual({ ...inside, tarball: release.tarball.split('/').at(-1), sha256: release.sha256 });
    expect(createHash('sha256').update(readFileSync(release.tarball)).digest('hex')).toBe(release.sha256);
    // The systemd unit runs the entry the manifest names, through the `current` link.
    expect(unitCommand().args).toContain(`${INSTALLED}${inside.entry}`);
  });

  it('holds compiled JavaScript and production dependencies only', () => {
    expect(readdirSync(join(unpacked, 'dist')).sort()).toEqual(['cli.js', 'cli.js.map']);
    const modules = Object.keys(release.manifest.dependencies);
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', '@tamky/edge', '@tamky/protocol'])
      expect(modules).not.toContain(`node_modules/${dev}`);
    expect(modules.filter((m) => m.includes('@types/'))).toEqual([]);
    for (const runtime of ['mqtt', 'better-sqlite3', 'serialport', 'pino', 'zod']) expect(modules).toContain(`node_modules/${runtime}`);
    expect(existsSync(join(unpacked, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
    // What is listed is what is there.
    for (const m of modules) expect(existsSync(join(unpacked, m, 'package.json')), m).toBe(true);
  });

  it('runs from the unpacked folder with plain node and publishes its readings and health to a real broker', async () => {
    const config = join(unpacked, '..', 'gateway.yaml');
    writeFileSync(
      config,
      stringify({
        gatewayId: 'gw-release',
        mqtt: { url: broker.url },
        outbox: { path: join(unpacked, '..', 'outbox.db') },
        health: { intervalMs: 1000 },
        buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
        devices: [{ id: device.id, profile: 'noise_meter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 1000 }],
      }),
    );
    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const telemetry: Array<{ readings: Array<{ device: string; values: Record<string, unknown> }> }> = [];
    const health: Array<{ version: string }> = [];
    sub.on('message', (topic, payload) => {
      if (topic === topics.telemetry('gw-release')) telemetry.push(JSON.parse(payload.toString()));
      if (topic === topics.health('gw-release')) health.push(JSON.parse(payload.toString()));
    });
    await sub.subscribeAsync([topics.telemetry('gw-release'), topics.health('gw-release')], { qos: 1 });
    try {
      // As the systemd unit starts it, with the unpacked folder for /opt/tamky/gateway/current/. No NODE_OPTIONS
      // (vitest's or tsx's loader), and no node_modules reachable but the release's.
      const env = { PATH: process.env.PATH!, LOG_LEVEL: 'warn' };
      const command = unitCommand();
      expect(command.node).toBe('/usr/bin/node');
      const args = command.args.map((a) => a.replace(INSTALLED, `${unpacked}/`)).map((a) => (a === UNIT_CONFIG ? config : a));
      gateway = spawnPeer(process.execPath, args, { cwd: unpacked, env });
      await waitFor(() => telemetry.some((t) => t.readings.some((r) => r.device === device.id && 'laeq' in r.values)), {
        what: `telemetry from the released gateway (${gateway.output().slice(-500)})`,
        timeoutMs: 30_000,
      });
      await waitFor(() => health.length > 0, { what: 'health from the released gateway', timeoutMs: 30_000 });
      expect(health[0]!.version).toBe(release.manifest.version);
      await gateway.stop();
      expect(gateway.child.exitCode, gateway.output().slice(-500)).toBe(0);
    } finally {
      await sub.endAsync();
    }
  });
});
