import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '@tamky/broker';
import { createSimDevice, startModbusTcpSlave, TAM_KY, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayHealthSchema, topics, type GatewayHealth, type ReleaseArtifact } from '@tamky/protocol';
import { createLogger, fleetPrivateKey, generateFleetKeys, hashSecret, signRelease } from '@tamky/service-kit';
import { requireBinary, spawnPeer, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { buildGatewayRelease } from '../deploy/scripts/gateway-release';

/**
 * A software update of a real gateway, as a box runs it: the launcher from the release, the compiled gateway under
 * `current`, and three releases announced over our broker and fetched over HTTPS: one whose bytes do not match its
 * signed SHA-256 (refused, never installed), one that crashes at start (rolled back by the launcher, reported by
 * the old version), and one that works (kept). The two new versions are the real release with another version
 * number in temporary folders; the crashing one throws before it starts.
 */
const log = createLogger('fleet-update', { level: 'silent' });
const GW = 'gw-update';
const cheap = { N: 1024, r: 8, p: 1 };
const keys = generateFleetKeys();
const signingKey = fleetPrivateKey(keys.privateKeyPem);

let dir: string;
let installRoot: string;
let base: string;
let broker: BrokerHandle;
let slave: TcpSlave;
let https: Server;
let httpsPort: number;
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
  const bytes = readFileSync(tarball);
  return { name: 'tamky-gateway', version, file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

const announce = (release: ReleaseArtifact, deadlineMs: number, servedAs = release.file) =>
  centre.publishAsync(
    topics.gatewayRelease(GW),
    JSON.stringify({
      type: 'gateway_release',
      gateway: GW,
      url: `https://127.0.0.1:${httpsPort}/releases/${servedAs}`,
      release,
      signature: signRelease(release, signingKey),
      deadlineMs,
    }),
    { qos: 1, retain: true },
  );

const healthWhere = (what: string, test: (h: GatewayHealth) => boolean, since: number, timeoutMs = 60_000) =>
  waitFor(() => healths.find((h) => h.ts >= since && test(h)), {
    what: `${what} (last health: ${JSON.stringify({ version: healths.at(-1)?.version, fleet: healths.at(-1)?.fleet })}; output: ${launcher?.output().slice(-2500)})`,
    timeoutMs,
    intervalMs: 200,
  });
const currentTarget = () => readlinkSync(join(installRoot, 'current'));

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
  https = createServer({ cert: readFileSync(join(dir, 'centre.crt')), key: readFileSync(join(dir, 'centre.key')) }, (req, res) => {
    const m = /^\/releases\/([A-Za-z0-9._-]+\.tgz)$/.exec(req.url ?? '');
    // "tampered" serves the crashing release's bytes under a name whose signed SHA-256 is the good one's.
    const file = m && (m[1] === 'tampered.tgz' ? artifacts.get('crash')!.file : m[1]);
    const path = file ? join(dir, 'releases', file) : '';
    if (!file || !existsSync(path)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': statSync(path).size }).end(readFileSync(path));
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  httpsPort = (https.address() as { port: number }).port;

  broker = await startBroker(
    {
      profile: 'production',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [{ id: GW, secretHash: await hashSecret('gateway-secret-1', cheap) }],
        services: [{ username: 'dashboard', secretHash: await hashSecret('dashboard-secret', cheap), role: 'dashboard' }],
      },
    },
    { logger: log },
  );
  slave = await startModbusTcpSlave(
    [
      createSimDevice(
        {
          id: 'noise-up-1',
          kind: 'noise_meter',
          name: 'n',
          ward: 'an-my',
          gateway: GW,
          lat: 15.57,
          lon: 108.47,
          pollIntervalMs: 1000,
          tags: [],
        },
        { city: TAM_KY, unitId: 1 },
      ),
    ],
    { log },
  );
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  writeFileSync(join(dir, 'fleet.pub'), keys.publicKeyPem);
  writeFileSync(
    join(dir, 'gateway.yaml'),
    stringify({
      gatewayId: GW,
      mqtt: { url, username: GW, password: 'gateway-secret-1', reconnect: { baseMs: 100, maxMs: 500 } },
      outbox: { path: join(dir, 'var/outbox.db') },
      health: { intervalMs: 1000 },
      fleet: { publicKeyFile: join(dir, 'fleet.pub'), caFile: join(dir, 'centre.crt') },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
      devices: [{ id: 'noise-up-1', profile: 'noise_meter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 1000 }],
    }),
  );
  centre = await mqtt.connectAsync(url, { username: 'dashboard', password: 'dashboard-secret', clientId: 'dashboard-update-test' });
  centre.on('message', (_topic, payload) => healths.push(gatewayHealthSchema.parse(JSON.parse(payload.toString()))));
  await centre.subscribeAsync(topics.health(GW), { qos: 1 });

  launcher = spawnPeer(process.execPath, [join(installRoot, 'launcher.mjs'), installRoot, '--config', join(dir, 'gateway.yaml')], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
  });
  await healthWhere(`version ${base} running`, (h) => h.version === base, 0);
}, 240_000);

afterAll(async () => {
  await launcher?.stop();
  await centre?.endAsync();
  await slave?.close();
  await broker?.close();
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

  it('rolls back a release that crashes at start: the old version runs again and reports why', async () => {
    const since = Date.now();
    const crash = artifacts.get('crash')!;
    await announce(crash, 60_000);
    const h = await healthWhere(
      'the crashing release rolled back',
      (x) => x.version === base && x.fleet?.rollback?.rejected === crash.version,
      since,
      120_000,
    );
    expect(h.fleet?.rollback).toMatchObject({ kind: 'software', running: base });
    expect(h.fleet?.rollback?.reason).toMatch(/exited with code 1 before reporting healthy/);
    expect(currentTarget()).toBe(`tamky-gateway-${base}`);
    expect(existsSync(join(installRoot, 'pending.json'))).toBe(false);
    // Installed beside the running version, not over it.
    expect(existsSync(join(installRoot, `tamky-gateway-${crash.version}/dist/cli.js`))).toBe(true);
  }, 150_000);

  it('keeps a release that reports healthy within its deadline', async () => {
    const since = Date.now();
    const good = artifacts.get('good')!;
    await announce(good, 60_000);
    const h = await healthWhere(`version ${good.version} running`, (x) => x.version === good.version, since, 120_000);
    expect(h.devices.map((d) => d.device)).toEqual(['noise-up-1']);
    await waitFor(() => !existsSync(join(installRoot, 'pending.json')), {
      what: 'the launcher keeping the new version',
      timeoutMs: 60_000,
    });
    expect(currentTarget()).toBe(`tamky-gateway-${good.version}`);
    // The previous version stays on disk for the next rollback.
    expect(existsSync(join(installRoot, `tamky-gateway-${base}/dist/cli.js`))).toBe(true);
  }, 200_000);
});
