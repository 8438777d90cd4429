import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions } from 'mqtt';
import { createLogger, loadConfigFile } from '@tamky/service-kit';
import { brokerConfigSchema, startBroker, type BrokerHandle } from '@tamky/broker';
import { gatewayConfigSchema, startGateway, type Gateway } from '@tamky/edge';
import { tempDir, waitFor } from '@tamky/test-support';

/**
 * Mutual TLS for gateways, as a city would set it up: the city CA and broker certificate from make-certs.sh,
 * a gateway provisioned with --cert (its own certificate, CN = gateway id, and a config naming it instead of
 * a password), the broker from deploy/config/broker.yaml (requestClientCert), and our own gateway connecting
 * over real TLS with that config. Disabling the gateway refuses its certificate; re-issuing rotates it.
 */
const root = join(import.meta.dirname, '..');
const log = createLogger('deploy-mtls', { level: 'silent' });
/** What one run of a deploy script may take (fresh Node with tsx, its imports, a production-cost scrypt). */
const SCRIPT_RUN_MS = 45_000;
const tsx = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'deploy/scripts', script), ...args], { cwd: root, encoding: 'utf8' });

let dir: string;
let broker: BrokerHandle;
const env = (service: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(join(dir, `env/${service}.env`), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 2, -1)]),
  );
const certs = () => join(dir, 'certs');
const tlsUrl = () => `mqtts://localhost:${broker.ports.tls}`;

/** Connects once over TLS with a certificate; resolves 'connected' or what refused it. */
function tryTls(id: string, opts: IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const client = mqtt.connect(tlsUrl(), {
      clientId: id,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ca: readFileSync(join(certs(), 'ca.crt')),
      ...opts,
    });
    client.once('connect', () => {
      client.end(true);
      resolve('connected');
    });
    client.once('error', (err: Error & { code?: number | string }) => {
      client.end(true);
      resolve(`refused: ${err.code ?? err.message}`);
    });
    client.once('close', () => resolve('closed'));
  });
}
const certOf = (id: string) => ({ cert: readFileSync(join(certs(), `${id}.crt`)), key: readFileSync(join(certs(), `${id}.key`)) });

beforeAll(async () => {
  dir = tempDir('deploy-mtls');
  // Independent steps run side by side: each is a process start, slow on a loaded machine.
  const run = (what: string, command: string, args: string[], extraEnv: Record<string, string> = {}) =>
    new Promise<void>((resolve, reject) =>
      execFile(command, args, { cwd: root, env: { ...process.env, ...extraEnv } }, (err, _out, stderr) =>
        err ? reject(new Error(`${what}: ${stderr}`)) : resolve(),
      ),
    );
  const script = (name: string) => ['--import', 'tsx', join(root, 'deploy/scripts', name)];
  await Promise.all([
    run('init-secrets', process.execPath, [...script('init-secrets.ts'), '--dir', dir]),
    run('make-certs', 'bash', [join(root, 'deploy/scripts/make-certs.sh'), 'broker.tamky.test'], { CERT_DIR: certs() }),
  ]);
  // One after the other: both rewrite the broker's credentials file.
  await run('provision gw-an-my', process.execPath, [
    ...script('provision-gateway.ts'),
    '--id',
    'gw-an-my',
    '--dir',
    dir,
    '--out',
    join(dir, 'gw-an-my.yaml'),
    '--cert',
    '--broker',
    'mqtts://broker.tamky.test:8883',
  ]);
  await run('provision gw-an-phu', process.execPath, [
    ...script('provision-gateway.ts'),
    '--id',
    'gw-an-phu',
    '--dir',
    dir,
    '--out',
    join(dir, 'gw-an-phu.yaml'),
    '--cert',
  ]);
  const saved = { ...process.env };
  Object.assign(process.env, env('broker'));
  const config = loadConfigFile(join(root, 'deploy/config/broker.yaml'), brokerConfigSchema);
  process.env = saved;
  const tls = config.listeners.tls!;
  expect(tls.requestClientCert).toBe(true);
  broker = await startBroker(
    {
      ...config,
      listeners: {
        mqtt: { host: '127.0.0.1', port: 0 },
        tls: {
          ...tls,
          host: '127.0.0.1',
          port: 0,
          cert: join(certs(), 'broker.crt'),
          key: join(certs(), 'broker.key'),
          ca: join(certs(), 'ca.crt'),
        },
      },
      credentialsFile: join(dir, 'credentials/broker-credentials.yaml'),
      persistence: { type: 'memory' },
      metrics: undefined,
    },
    { logger: log },
  );
}, 4 * SCRIPT_RUN_MS); // four script runs (two side by side) and a broker start
afterAll(() => broker?.close());

describe('mutual TLS for gateways', () => {
  it('our gateway, with the config provisioning wrote, connects by its certificate alone and publishes as itself', async () => {
    const written = parse(readFileSync(join(dir, 'gw-an-my.yaml'), 'utf8'));
    expect(written.mqtt.password).toBeUndefined();
    expect(written.mqtt).toMatchObject({
      certFile: '/etc/tamky-gateway/gw-an-my.crt',
      keyFile: '/etc/tamky-gateway/gw-an-my.key',
      caFile: '/etc/tamky-gateway/ca.crt',
    });
    expect(written.fleet).toMatchObject({ publicKeyFile: '/etc/tamky-gateway/fleet-signing.pub' });
    const onBox = (p: string) => p.replace('/etc/tamky-gateway', certs());
    // As installed on the box: the files where the config says (here the certs folder), no serial devices.
    const config = gatewayConfigSchema.parse({
      ...written,
      mqtt: {
        ...written.mqtt,
        url: tlsUrl(),
        caFile: onBox(written.mqtt.caFile),
        certFile: onBox(written.mqtt.certFile),
        keyFile: onBox(written.mqtt.keyFile),
      },
      // The centre's fleet public key, where init-secrets wrote it (provisioning names its place on the box).
      fleet: { ...written.fleet, publicKeyFile: join(dir, 'credentials/fleet-signing.pub') },
      outbox: { path: join(dir, 'outbox.db') },
      buses: [],
      devices: [],
    });

    const ingest = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.ports.mqtt}`, {
      username: 'ingest',
      password: env('ingest').INGEST_MQTT_PASSWORD,
      clientId: 'ingest-1',
      reconnectPeriod: 0,
    });
    const statuses: string[] = [];
    ingest.on('message', (topic, payload) => statuses.push(`${topic} ${JSON.parse(payload.toString()).state}`));
    await ingest.subscribeAsync('city/v1/gw/+/status', { qos: 1 });
    let gateway: Gateway | undefined;
    try {
      gateway = await startGateway(config, { logger: log });
      await waitFor(() => statuses.includes('city/v1/gw/gw-an-my/status online'), { what: 'gw-an-my online over mutual TLS' });
    } finally {
      await gateway?.close();
      await ingest.endAsync();
    }
  });

  it("refuses a certificate presented under another gateway's name, and a TLS client with neither certificate nor password", async () => {
    expect(await tryTls('gw-an-my', { username: 'gw-an-my', ...certOf('gw-an-phu') })).toMatch(/^refused/);
    expect(await tryTls('gw-an-my', { username: 'gw-an-my' })).toMatch(/^refused/);
    // The right certificate, with or without the username, is the gateway itself.
    expect(await tryTls('gw-an-phu', { username: 'gw-an-phu', ...certOf('gw-an-phu') })).toBe('connected');
    expect(await tryTls('gw-an-phu', certOf('gw-an-phu'))).toBe('connected');
  });

  it(
    'rotates: re-provisioning with --cert issues a new certificate that connects; disabling refuses the certificate',
    async () => {
      const before = readFileSync(join(certs(), 'gw-an-phu.crt'), 'utf8');
      const again = tsx('provision-gateway.ts', ['--id', 'gw-an-phu', '--dir', dir, '--out', join(dir, 'gw-an-phu.yaml'), '--cert']);
      expect(again.status, again.stderr).toBe(0);
      expect(readFileSync(join(certs(), 'gw-an-phu.crt'), 'utf8')).not.toBe(before);
      broker.reloadCredentials();
      expect(await tryTls('gw-an-phu', certOf('gw-an-phu'))).toBe('connected');

      expect(tsx('provision-gateway.ts', ['--id', 'gw-an-phu', '--dir', dir, '--disable']).status).toBe(0);
      broker.reloadCredentials();
      expect(await tryTls('gw-an-phu', certOf('gw-an-phu'))).toMatch(/^refused/);
    },
    3 * SCRIPT_RUN_MS,
  ); // two runs of provision-gateway and the TLS handshakes

  it('provisioning with --cert needs the city CA first', () => {
    const fresh = tempDir('deploy-mtls-noca');
    const r = tsx('provision-gateway.ts', ['--id', 'gw-an-my', '--dir', fresh, '--out', join(fresh, 'gw.yaml'), '--cert']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no city CA .*make-certs\.sh <broker host name> first/);
  });
});
