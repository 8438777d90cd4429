import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimDevice, startModbusTcpSlave, TAM_KY, type TcpSlave } from '@tamky/firmware-sim';
import {
  cityModelSchema,
  gatewayHealthSchema,
  topics,
  type Device,
  type GatewayHealth,
  type ReleaseArtifact,
  type Rollout,
} from '@tamky/protocol';
import { createLogger, fleetPrivateKey, generateFleetKeys, signRelease } from '@tamky/service-kit';
import { requireBinary, spawnPeer, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { buildGatewayRelease } from '../deploy/scripts/gateway-release';
import { api, loadCity, login, mqttClient, startHarness, type Harness, type Session } from '../dashboard/server/test/helpers';

/**
 * A software update of a real gateway, as a box runs it: the launcher from the release, the compiled gateway under
 * `current`, configured by the real dashboard (registry push) and updated by its staged rollouts: releases signed
 * and served by the dashboard behind a TLS proxy, fetched over HTTPS. One release whose bytes do not match its
 * signed SHA-256 is refused and never installed; one that crashes at start is rolled back by the launcher, reported
 * by the old version, and halts its rollout; one that works is kept and its rollout moves on to the next ward. The
 * two new versions are the real release with another version number in temporary folders; the crashing one throws
 * before it starts.
 */
const log = createLogger('fleet-update', { level: 'silent' });
const GW = 'gw-update';
const keys = generateFleetKeys();
const signingKey = fleetPrivateKey(keys.privateKeyPem);

let dir: string;
let installRoot: string;
let base: string;
let centreSide: Harness;
let admin: Session;
let slave: TcpSlave;
let https: Server;
let httpsPort: number;
let dashboardPort = 0;
let centre: MqttClient;
let launcher: Peer | undefined;
const healths: GatewayHealth[] = [];
const artifacts = new Map<string, ReleaseArtifact>();

/** A copy of the unpacked release under another version; `crash` makes its entry throw before anything starts. */
function variant(unpacked: string, version: string, crash: boolean): ReleaseArtifact {
  const folder = `tamky-gateway-${version}`;
  const stage = tempDir(`fleet-update-${version}`);
  const dest = join(stage, folder);
  cpSync(unpacked, dest, { recursive: true, verbatimSymlinks: true });
  for (const name of ['package.json', 'manifest.json']) {
    const json = JSON.parse(readFileSync(join(dest, name), 'utf8'));
    writeFileSync(join(dest, name), JSON.stringify({ ...json, version }, null, 2));
  }
  if (crash) {
    const entry = join(dest, 'dist/cli.js');
    writeFileSync(entry, `throw new Error('this release crashes at start');\n${readFileSync(entry, 'utf8')}`);
  }
  const file = `${folder}.tgz`;
  const tarball = join(dir, 'releases', file);
  execFileSync('tar', ['-czf', tarball, '-C', stage, folder]);
  writeFileSync(join(dir, 'releases', `${folder}.json`), JSON.stringify({ version, tarball: file }));
  const bytes = readFileSync(tarball);
  return { name: 'tamky-gateway', version, file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

const device: Device = {
  id: 'noise-up-1',
  kind: 'noise_meter',
  name: 'noise-up-1',
  ward: 'an-my',
  gateway: GW,
  lat: 15.57,
  lon: 108.47,
  pollIntervalMs: 1000,
  tags: [],
};
/** Two wards: the update gateway's first, then one whose gateway the rollout reaches second. */
const tamKy = loadCity();
const city = cityModelSchema.parse({
  ...tamKy,
  wards: tamKy.wards.slice(0, 2),
  gateways: [
    { id: GW, ward: tamKy.wards[0]!.id, name: 'Update test' },
    { id: 'gw-next', ward: tamKy.wards[1]!.id, name: 'Next ward' },
  ],
  devices: [{ ...device, ward: tamKy.wards[0]!.id }],
});

/** An announcement the test signs itself (the dashboard would never sign a mismatch): for the tampered case. */
const announce = (release: ReleaseArtifact, deadlineMs: number, servedAs = release.file) =>
  centre.publishAsync(
    topics.gatewayRelease(GW),
    JSON.stringify({
      type: 'gateway_release',
      gateway: GW,
      url: `https://127.0.0.1:${httpsPort}/api/fleet/releases/${servedAs}`,
      release,
      signature: signRelease(release, signingKey),
      deadlineMs,
    }),
    { qos: 1, retain: true },
  );

// Inside the test's own timeout, so a wait that fails says what it saw.
const healthWhere = (what: string, test: (h: GatewayHealth) => boolean, since: number, timeoutMs = 40_000) =>
  waitFor(() => healths.find((h) => h.ts >= since && test(h)), {
    what: `${what} (last health: ${JSON.stringify({ version: healths.at(-1)?.version, fleet: healths.at(-1)?.fleet })}; output: ${launcher?.output().slice(-2500)})`,
    timeoutMs,
    intervalMs: 200,
  });
const currentTarget = () => readlinkSync(join(installRoot, 'current'));
const rollouts = async (): Promise<Rollout[]> => (await (await api(centreSide.url, admin, 'GET', '/api/fleet/rollouts')).json()).rollouts;

beforeAll(async () => {
  dir = tempDir('fleet-update');
  installRoot = join(dir, 'opt-tamky-gateway');
  execFileSync('mkdir', ['-p', installRoot, join(dir, 'releases'), join(dir, 'var')]);
  const built = await buildGatewayRelease(join(dir, 'build'));
  base = built.manifest.version;
  execFileSync('tar', ['-xzf', built.tarball, '-C', installRoot]);
  const unpacked = join(installRoot, `tamky-gateway-${base}`);
  symlinkSync(`tamky-gateway-${base}`, join(installRoot, 'current'));
  // Installed once, outside the versioned folders: an update never replaces the launcher.
  cpSync(join(unpacked, 'deploy/launcher.mjs'), join(installRoot, 'launcher.mjs'));
  for (const [version, crash] of [
    [`${base}-crash.1`, true],
    [`${base}-good.1`, false],
  ] as const)
    artifacts.set(crash ? 'crash' : 'good', variant(unpacked, version, crash));

  execFileSync(requireBinary('openssl', 'openssl'), [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=centre',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'centre.key'), '-out', join(dir, 'centre.crt'),
  ], { stdio: 'ignore' }); // prettier-ignore
  // The centre's TLS proxy in front of the dashboard, as deploy/proxy does.
  https = createServer({ cert: readFileSync(join(dir, 'centre.crt')), key: readFileSync(join(dir, 'centre.key')) }, (req, res) => {
    const upstream = request({ host: '127.0.0.1', port: dashboardPort, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  httpsPort = (https.address() as { port: number }).port;
  // Served by the dashboard but listed as no release (no manifest): the crashing release's bytes under another name.
  cpSync(join(dir, 'releases', artifacts.get('crash')!.file), join(dir, 'releases', 'tampered.tgz'));
  writeFileSync(join(dir, 'fleet.key'), keys.privateKeyPem);
  centreSide = await startHarness({
    city,
    config: {
      fleet: {
        signingKeyFile: join(dir, 'fleet.key'),
        releasesDir: join(dir, 'releases'),
        releaseBaseUrl: `https://127.0.0.1:${httpsPort}`,
        deadlineMs: 60_000,
      },
    },
  });
  dashboardPort = Number(new URL(centreSide.url).port);
  admin = await login(centreSide.url, 'admin');

  slave = await startModbusTcpSlave([createSimDevice(device, { city: TAM_KY, unitId: 1 })], { log });
  writeFileSync(join(dir, 'fleet.pub'), keys.publicKeyPem);
  writeFileSync(
    join(dir, 'gateway.yaml'),
    stringify({
      gatewayId: GW,
      mqtt: { url: centreSide.mqttUrl, reconnect: { baseMs: 100, maxMs: 500 } },
      outbox: { path: join(dir, 'var/outbox.db') },
      health: { intervalMs: 1000 },
      fleet: { publicKeyFile: join(dir, 'fleet.pub'), caFile: join(dir, 'centre.crt'), configDeadlineMs: 30_000 },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
      devices: [{ id: device.id, profile: 'noise_meter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 5000 }],
    }),
  );
  centre = await mqttClient(centreSide.mqttUrl);
  centre.on('message', (_topic, payload) => healths.push(gatewayHealthSchema.parse(JSON.parse(payload.toString()))));
  await centre.subscribeAsync(topics.health(GW), { qos: 1 });

  launcher = spawnPeer(process.execPath, [join(installRoot, 'launcher.mjs'), installRoot, '--config', join(dir, 'gateway.yaml')], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
  });
  // Configured from the registry: the dashboard's push sets the poll interval the file does not have.
  await healthWhere(
    `version ${base} running registry configuration v1`,
    (x) => x.version === base && x.fleet?.configVersion === 1 && x.devices[0]?.pollIntervalMs === 1000,
    0,
  );
});

afterAll(async () => {
  await launcher?.stop();
  await centre?.endAsync();
  await slave?.close();
  await centreSide?.close();
  await new Promise((r) => (https ? https.close(r) : r(undefined)));
});

describe('gateway software update', () => {
  it('refuses a release whose bytes do not match the signed SHA-256, installing nothing', async () => {
    const since = Date.now();
    const good = artifacts.get('good')!;
    await announce({ ...good, size: artifacts.get('crash')!.size }, 30_000, 'tampered.tgz');
    const h = await healthWhere('the tampered release refused', (x) => x.fleet?.rollback?.kind === 'software', since);
    expect(h.fleet?.rollback).toMatchObject({ rejected: good.version, running: base });
    expect(h.fleet?.rollback?.reason).toMatch(/SHA-256/);
    expect(currentTarget()).toBe(`tamky-gateway-${base}`);
    expect(existsSync(join(installRoot, `tamky-gateway-${good.version}`))).toBe(false);
  });

  it('rolls back a release that crashes at start: the old version runs again, reports why, and the rollout halts', async () => {
    const since = Date.now();
    const crash = artifacts.get('crash')!;
    const res = await api(centreSide.url, admin, 'POST', '/api/fleet/rollouts', { version: crash.version, firstWard: city.wards[0]!.id });
    expect(res.status).toBe(200);
    const h = await healthWhere(
      'the crashing release rolled back',
      (x) => x.version === base && x.fleet?.rollback?.rejected === crash.version,
      since,
    );
    expect(h.fleet?.rollback).toMatchObject({ kind: 'software', running: base });
    expect(h.fleet?.rollback?.reason).toMatch(/exited with code 1 before reporting healthy/);
    expect(currentTarget()).toBe(`tamky-gateway-${base}`);
    expect(existsSync(join(installRoot, 'pending.json'))).toBe(false);
    // Installed beside the running version, not over it.
    expect(existsSync(join(installRoot, `tamky-gateway-${crash.version}/dist/cli.js`))).toBe(true);
    const halted = await waitFor(async () => (await rollouts()).find((r) => r.version === crash.version && r.stage === 'halted'), {
      what: 'the rollout halted',
    });
    expect(halted.reason).toMatch(new RegExp(`${GW}.*exited with code 1`));
    expect(halted.gateways.map((g) => g.id)).toEqual([GW]); // the next ward never got it
  });

  it('keeps a release that reports healthy within its deadline, and the rollout moves on to the next ward', async () => {
    const since = Date.now();
    const good = artifacts.get('good')!;
    const res = await api(centreSide.url, admin, 'POST', '/api/fleet/rollouts', { version: good.version, firstWard: city.wards[0]!.id });
    expect(res.status).toBe(200);
    const h = await healthWhere(`version ${good.version} running`, (x) => x.version === good.version, since);
    expect(h.devices.map((d) => d.device)).toEqual(['noise-up-1']);
    await waitFor(() => !existsSync(join(installRoot, 'pending.json')), {
      what: 'the launcher keeping the new version',
      timeoutMs: 30_000,
    });
    expect(currentTarget()).toBe(`tamky-gateway-${good.version}`);
    // The previous version stays on disk for the next rollback.
    expect(existsSync(join(installRoot, `tamky-gateway-${base}/dist/cli.js`))).toBe(true);
    const moved = await waitFor(async () => (await rollouts()).find((r) => r.version === good.version && r.stage === 'rest'), {
      what: 'the rollout moving on to the next ward',
    });
    expect(moved.gateways.map((g) => g.id)).toEqual([GW, 'gw-next']);
  });
});
