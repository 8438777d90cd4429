import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfigFile } from '@tamky/service-kit';
import { createSimDevice, startModbusTcpSlave, TAM_KY, type SimDevice } from '@tamky/firmware-sim';
import { cityModelSchema, type GatewayHealth } from '@tamky/protocol';
import { freePort, spawnPeer, startInfluxd, startRedis, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { buildService, SERVICES } from '../deploy/scripts/build';
import { startFakeZalo } from '../dashboard/server/test/fakes/zalo';
import { startFakeEsms } from '../dashboard/server/test/fakes/esms';
import { compose, envFileOf, influxql, initInfluxAsImage, REPO_ROOT } from './deploy-support';

/**
 * A deployment rehearsal, as close to `docker compose up` as a machine without Docker allows: Redis with its
 * password, InfluxDB 1.x with the users its image creates, then the broker, ingest and the dashboard, each a
 * process of its own started the way compose starts it (its command, through deploy/docker-entrypoint.sh, with
 * its env file and environment from docker-compose.yml, compiled JavaScript, the production configs of
 * deploy/config), secrets from init-secrets.ts, certificates from make-certs.sh, two gateways provisioned with
 * --cert connecting over mutual TLS, and a flood alarm reaching the duty supervisor through a local Zalo peer
 * by the production notification policy. Only ports, hosts and folders differ, through the `${NAME:-default}`
 * variables the configs define; the provider keys a city fills in by hand are the local peers'.
 */
const root = REPO_ROOT;
const log = createLogger('deploy-rehearsal', { level: 'silent' });
const DUTY_PHONE = '0905000201';
const WATER = 'an-phu-water-1'; // mountingHeightM 6, báo động 1/2/3 at 2 / 3 / 4 m (config/tam-ky/city.yaml)
const NOISE = 'an-my-noise-1';
const DISTANCE_REGISTER = 0x05; // 0.1 mm units (docs/register-maps.md)
const FLOOD_DISTANCE_RAW = 15_000; // 1.5 m below the sensor: level 4.5 m, above báo động 3

let dir: string;
const peers: Array<{ stop(): Promise<void> | void }> = [];
const services: Record<string, Peer> = {};
let zalo: Awaited<ReturnType<typeof startFakeZalo>>;
let water: SimDevice;
let ports: Record<'mqtt' | 'mqtts' | 'ws' | 'brokerMetrics' | 'ingestMetrics' | 'http', number>;
let influxUrl: string;
let adminPassword: string;

const run = (what: string, command: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<string>((resolve, reject) =>
    execFile(command, args, { cwd: root, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${what}: ${stderr}`)) : resolve(stdout),
    ),
  );
const script = (name: string) => ['--import', 'tsx', join(root, 'deploy/scripts', name)];

/** Starts one of compose's own services as compose would: its command through the image's entrypoint. */
function startComposeService(name: string, overrides: Record<string, string>): Peer {
  const service = compose.services[name]!;
  const command = (service.command as string[]).map((a) => a.replace(/^\/app\//, `${root}/`));
  const env = {
    PATH: process.env.PATH!,
    ...(service.environment as Record<string, string>),
    ...Object.assign({}, ...(service.env_file as string[]).map((f) => envFileOf(dir, f.replace(/^deploy\/env\/|\.env$/g, '')))),
    ...overrides,
    LOG_LEVEL: 'warn',
  };
  const peer = spawnPeer('sh', [join(root, 'deploy/docker-entrypoint.sh'), ...command], { cwd: root, env });
  services[name] = peer;
  return peer;
}

async function healthy(name: string, url: string): Promise<void> {
  const peer = services[name]!;
  await waitFor(
    async () => {
      if (peer.child.exitCode !== null) throw new Error(`${name} exited: ${peer.output().slice(-1500)}`);
      return (
        (await fetch(url)
          .then((r) => r.ok)
          .catch(() => false)) || undefined
      );
    },
    { what: `${name} healthy (${url})`, timeoutMs: 60_000, intervalMs: 250 },
  );
}

beforeAll(async () => {
  dir = tempDir('deploy-rehearsal');
  const certs = join(dir, 'certs');
  const [secretsOut] = await Promise.all([
    run('init-secrets', process.execPath, [...script('init-secrets.ts'), '--dir', dir, '--public-url', 'https://ioc.tamky.test']),
    run('make-certs', 'bash', [join(root, 'deploy/scripts/make-certs.sh'), 'broker.tamky.test'], { CERT_DIR: certs }),
    // The compiled services, as the image's `npm run build` makes them.
    ...SERVICES.filter((s) => ['broker', 'ingest', 'dashboard/server', 'edge'].includes(s.workspace)).map((s) => buildService(s)),
  ]);
  expect(secretsOut).toMatch(/dashboard admin password \(shown once\)/);
  // One after the other: both rewrite the broker's credentials file.
  for (const id of ['gw-an-my', 'gw-an-phu'])
    await run(`provision ${id}`, process.execPath, [
      ...script('provision-gateway.ts'),
      '--id',
      id,
      '--dir',
      dir,
      '--out',
      join(dir, `${id}.yaml`),
      '--cert',
    ]);

  // What a city fills in by hand after init-secrets: the duty phone and the providers' keys (here, local peers').
  zalo = await startFakeZalo({ appId: 'tamky-oa-app', secretKey: 'zalo-app-secret-0123456789', refreshToken: 'zalo-refresh-0123456789' });
  const esms = await startFakeEsms({ apiKey: 'esms-api-key-0123456789', secretKey: 'esms-secret-key-0123456789', brandname: 'IOC-TAMKY' });
  peers.push({ stop: () => zalo.close() }, { stop: () => esms.close() });
  const dashboardEnv = join(dir, 'env/dashboard.env');
  const filled: Record<string, string> = {
    NOTIFY_DUTY_PHONE: DUTY_PHONE,
    ZALO_APP_ID: zalo.appId,
    ZALO_APP_SECRET: zalo.secretKey,
    ZALO_REFRESH_TOKEN: 'zalo-refresh-0123456789',
    ZALO_ZNS_TEMPLATE_ID: '301234',
    ZALO_OA_SECRET: 'zalo-oa-secret-0123456789',
    ESMS_API_KEY: 'esms-api-key-0123456789',
    ESMS_SECRET_KEY: 'esms-secret-key-0123456789',
    ESMS_BRANDNAME: 'IOC-TAMKY',
  };
  writeFileSync(
    dashboardEnv,
    readFileSync(dashboardEnv, 'utf8').replace(/^([A-Z_]+)=''$/gm, (line, name: string) =>
      name in filled ? `${name}='${filled[name]}'` : line,
    ),
  );

  const [redis, influx] = await Promise.all([
    startRedis({ password: envFileOf(dir, 'redis').REDIS_PASSWORD! }),
    startInfluxd({ auth: true }),
  ]);
  peers.push(redis, influx);
  influxUrl = influx.url;
  await initInfluxAsImage(influx.url, envFileOf(dir, 'influxdb'));

  ports = {
    mqtt: await freePort(),
    mqtts: await freePort(),
    ws: await freePort(),
    brokerMetrics: await freePort(),
    ingestMetrics: await freePort(),
    http: await freePort(),
  };
  const mqttUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
  startComposeService('broker', {
    MQTT_PORT: String(ports.mqtt),
    MQTTS_PORT: String(ports.mqtts),
    MQTT_WS_PORT: String(ports.ws),
    METRICS_PORT: String(ports.brokerMetrics),
    DEPLOY_DIR: dir,
    REDIS_ADDRESS: `127.0.0.1:${redis.port}`,
  });
  await healthy('broker', `http://127.0.0.1:${ports.brokerMetrics}/metrics`);
  const dataDir = join(dir, 'dashboard-data');
  mkdirSync(dataDir);
  startComposeService('ingest', { MQTT_URL: mqttUrl, INFLUXDB_URL: influx.url, APP_DIR: root, METRICS_PORT: String(ports.ingestMetrics) });
  startComposeService('dashboard', {
    MQTT_URL: mqttUrl,
    INFLUXDB_URL: influx.url,
    APP_DIR: root,
    DEPLOY_DIR: dir,
    DATA_DIR: dataDir,
    HTTP_PORT: String(ports.http),
    ZALO_SEND_URL: `${zalo.url}/message/template`,
    ZALO_REFRESH_URL: `${zalo.url}/v4/oa/access_token`,
    ESMS_URL: esms.url,
  });
  await Promise.all([
    healthy('ingest', `http://127.0.0.1:${ports.ingestMetrics}/metrics`),
    healthy('dashboard', `http://127.0.0.1:${ports.http}/healthz`),
  ]);

  // Two gateways, each a process running the compiled gateway with the config provisioning wrote, its
  // certificate, key and the fleet public key where that config says (here the folders init-secrets and
  // make-certs wrote), and the devices provisioning listed on a Modbus TCP bus of simulated devices.
  const city = loadConfigFile(join(root, 'config/tam-ky/city.yaml'), cityModelSchema);
  const deviceOf = (id: string) => city.devices.find((d) => d.id === id)!;
  for (const id of ['gw-an-phu', 'gw-an-my']) {
    const written = parse(readFileSync(join(dir, `${id}.yaml`), 'utf8'));
    expect(written.mqtt.password, `${id} logs in by its certificate alone`).toBeUndefined();
    const sims = (written.devices as Array<{ id: string; unitId: number }>).map((d) =>
      createSimDevice(deviceOf(d.id), { city: TAM_KY, unitId: d.unitId }),
    );
    water ??= sims.find((sim) => sim.id === WATER)!;
    const slave = await startModbusTcpSlave(sims, { log });
    peers.push({ stop: () => slave.close() });
    const onBox = (p: string) =>
      p === '/etc/tamky-gateway/fleet-signing.pub' ? join(dir, 'credentials/fleet-signing.pub') : p.replace('/etc/tamky-gateway', certs);
    const config = join(dir, `${id}.local.yaml`);
    writeFileSync(
      config,
      stringify({
        ...written,
        mqtt: {
          ...written.mqtt,
          url: `mqtts://localhost:${ports.mqtts}`,
          caFile: onBox(written.mqtt.caFile),
          certFile: onBox(written.mqtt.certFile),
          keyFile: onBox(written.mqtt.keyFile),
        },
        outbox: { ...written.outbox, path: join(dir, `${id}-outbox.db`) },
        fleet: { ...written.fleet, publicKeyFile: onBox(written.fleet.publicKeyFile) },
        health: { intervalMs: 2000 },
        buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
        devices: (written.devices as Array<Record<string, unknown>>).map((d) => ({ ...d, bus: 'tcp-1', pollIntervalMs: 1000 })),
      }),
    );
    services[id] = spawnPeer(process.execPath, ['--enable-source-maps', 'edge/dist/cli.js', '--config', config], {
      cwd: root,
      env: { PATH: process.env.PATH!, LOG_LEVEL: 'warn' },
    });
  }
  adminPassword = /dashboard admin password \(shown once\): (\S+)/.exec(secretsOut)![1]!;
});

afterAll(async () => {
  // Gateways first (they publish to the broker), then the services, then the peers they use.
  for (const name of ['gw-an-my', 'gw-an-phu', 'dashboard', 'ingest', 'broker']) await services[name]?.stop();
  for (const peer of peers.reverse()) await peer.stop();
});

/** Readings of a device in InfluxDB, read as the dashboard's read-only user. */
async function storedCount(measurement: string, device: string): Promise<number> {
  const secrets = envFileOf(dir, 'dashboard');
  const res = await fetch(
    `${influxUrl}/query?db=city&q=${encodeURIComponent(`SELECT count(*) FROM ${measurement} WHERE device='${device}'`)}`,
    {
      headers: { authorization: `Basic ${Buffer.from(`dashboard:${secrets.INFLUXDB_DASHBOARD_PASSWORD}`).toString('base64')}` },
    },
  );
  const body = (await res.json()) as { results: Array<{ series?: Array<{ values: Array<[string, ...number[]]> }> }> };
  return Math.max(0, ...((body.results[0]?.series?.[0]?.values[0]?.slice(1) as number[] | undefined) ?? []));
}

describe('deployment rehearsal: the production configs, as separate processes', () => {
  it('both gateways, over mutual TLS, get their readings stored in InfluxDB through the broker and ingest', async () => {
    for (const [kind, device] of [
      ['water_level', WATER],
      ['noise_meter', NOISE],
    ] as const) {
      await waitFor(async () => (await storedCount(kind, device)) > 0 || undefined, {
        what: `readings of ${device} in InfluxDB (${services['gw-an-phu']!.output().slice(-300)} ${services.ingest!.output().slice(-300)})`,
        timeoutMs: 60_000,
        intervalMs: 500,
      });
    }
    // InfluxDB answers no one without a password, as the compose deployment runs it.
    expect((await influxql(influxUrl, 'SHOW DATABASES')).status).toBe(401);
  });

  it('a flood at the device reaches the duty supervisor on Zalo through the production notification policy', async () => {
    water.pin('holding', DISTANCE_REGISTER, FLOOD_DISTANCE_RAW);
    // The flood's message, not any other alarm's (a host's own disk alarms go to the duty phone too).
    const isFlood = (m: (typeof zalo.messages)[number]) =>
      m.phone === `84${DUTY_PHONE.slice(1)}` && /An Phú|an-phu/.test(JSON.stringify(m.templateData));
    const message = await waitFor(() => zalo.messages.find(isFlood), {
      what: `a Zalo message to the duty phone (dashboard: ${services.dashboard!.output().slice(-800)})`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    expect(message.templateId).toBe('301234');
  });

  it('each gateway runs the configuration the dashboard pushed, signed with the fleet key init-secrets made', async () => {
    const login = await fetch(`http://127.0.0.1:${ports.http}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: adminPassword }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const fleetOf = async () => {
      const res = await fetch(`http://127.0.0.1:${ports.http}/api/gateways`, { headers: { cookie } });
      const { gateways } = (await res.json()) as { gateways: Array<{ id: string; health: GatewayHealth | null }> };
      return new Map(gateways.map((g) => [g.id, g.health?.fleet]));
    };
    // Version 1 from the registry, accepted (signature and hash verified with the provisioned public key) and kept.
    const fleet = await waitFor(
      async () => {
        const f = await fleetOf();
        return ['gw-an-my', 'gw-an-phu'].every((id) => f.get(id)?.configVersion === 1) ? f : undefined;
      },
      {
        what: `pushed configurations running (gw-an-my: ${services['gw-an-my']!.output().slice(-500)})`,
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    for (const id of ['gw-an-my', 'gw-an-phu']) expect(fleet.get(id)?.rollback, id).toBeNull();
  });

  it('every service is still running (none restarted or crashed during the rehearsal)', () => {
    for (const [name, peer] of Object.entries(services)) expect(peer.child.exitCode, `${name}: ${peer.output().slice(-500)}`).toBeNull();
  });
});
