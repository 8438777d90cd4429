import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { MqttClient } from 'mqtt';
import { tempDir } from '@tamky/test-support';
import { credentialsSchema, type BrokerHandle, type Credentials } from '../../src/index';
import { connectOk, gatewayOpts, hashForTest, metricValue, startTestBroker, testCredentials, tryConnect } from '../helpers';

// Finding M2: a changed gateway secret did not cut off a session using the old one; re-keying re-enabled a
// disabled gateway; secrets never expired.

const closedOnce = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));

describe('gateway secret rotation', () => {
  let broker: BrokerHandle;
  let url: string;
  let base: Credentials;
  beforeAll(async () => {
    base = credentialsSchema.parse(await testCredentials());
    broker = await startTestBroker({ credentials: base });
    url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  });
  afterAll(() => broker?.close());

  const withGateway = (id: string, change: Partial<Credentials['gateways'][number]>): Credentials => ({
    ...base,
    gateways: base.gateways.map((g) => (g.id === id ? { ...g, ...change } : g)),
  });

  it('disconnects a session that authenticated with the old secret, refuses the old secret, accepts the new; others stay', async () => {
    const onOld = await connectOk(url, gatewayOpts('gw-a', 'secret-a'));
    const bystander = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    const cut = closedOnce(onOld);
    base = withGateway('gw-a', { secretHash: await hashForTest('secret-a-2') });
    broker.reloadCredentials(base);
    await cut;
    expect(await tryConnect(url, gatewayOpts('gw-a', 'secret-a'))).toEqual({ refused: 4 });
    const onNew = await connectOk(url, gatewayOpts('gw-a', 'secret-a-2'));
    expect(bystander.connected).toBe(true);
    await bystander.publishAsync('city/v1/gw/gw-b/telemetry', '1', { qos: 1 });

    // Reloading the same set again leaves a session on the current secret alone.
    broker.reloadCredentials(base);
    await onNew.publishAsync('city/v1/gw/gw-a/telemetry', '1', { qos: 1 });
    expect(onNew.connected).toBe(true);
    for (const c of [onOld, onNew, bystander]) c.end(true);
  });

  it('re-keying does not re-enable a gateway disabled at runtime or in the file', async () => {
    broker.disableGateway('gw-b');
    base = withGateway('gw-b', { secretHash: await hashForTest('secret-b-2') });
    broker.reloadCredentials(base);
    expect(await tryConnect(url, gatewayOpts('gw-b', 'secret-b-2'))).toEqual({ refused: 5 });
    // gw-off is disabled in the credentials: a new hash alone leaves it disabled.
    base = withGateway('gw-off', { secretHash: await hashForTest('secret-off-2') });
    broker.reloadCredentials(base);
    expect(await tryConnect(url, gatewayOpts('gw-off', 'secret-off-2'))).toEqual({ refused: 5 });
    broker.enableGateway('gw-b');
    (await connectOk(url, gatewayOpts('gw-b', 'secret-b-2'))).end(true);
  });

  it('refuses an expired secret at CONNECT and disconnects its session when it expires', async () => {
    base = withGateway('gw-a', { secretExpiresAt: new Date(Date.now() - 1000).toISOString() });
    broker.reloadCredentials(base);
    expect(await tryConnect(url, gatewayOpts('gw-a', 'secret-a-2'))).toEqual({ refused: 5 });

    base = withGateway('gw-a', { secretExpiresAt: new Date(Date.now() + 3000).toISOString() });
    broker.reloadCredentials(base);
    const session = await connectOk(url, gatewayOpts('gw-a', 'secret-a-2'));
    await session.publishAsync('city/v1/gw/gw-a/telemetry', '1', { qos: 1 });
    await closedOnce(session);
    session.end(true);
    expect(await tryConnect(url, gatewayOpts('gw-a', 'secret-a-2'))).toEqual({ refused: 5 });
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'secret-expired' })).toBe(3);
  });

  it('rejects an expiry that is not a zoned ISO date-time, naming the field', () => {
    const bad = credentialsSchema.safeParse({ gateways: [{ ...base.gateways[0], secretExpiresAt: '30/06/2027' }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['gateways', 0, 'secretExpiresAt']);
  });
});

describe('provision-gateway re-keying', () => {
  const root = resolve(import.meta.dirname, '../../..');
  const provision = (dir: string, args: string[]) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'deploy/scripts/provision-gateway.ts'), '--dir', dir, '--out', join(dir, 'gw.yaml'), ...args],
      { cwd: root, encoding: 'utf8' },
    );

  it('keeps a disabled gateway disabled when it is re-keyed, enables it only with --enable, and records --expires', async () => {
    const firstHash = await hashForTest('stolen');
    const dir = tempDir('provision');
    const file = join(dir, 'credentials/broker-credentials.yaml');
    const creds = () => credentialsSchema.parse(parse(readFileSync(file, 'utf8'))).gateways[0]!;
    mkdirSync(join(dir, 'credentials'));
    writeFileSync(file, stringify({ gateways: [{ id: 'gw-an-xuan', secretHash: firstHash, disabled: true }], services: [] }));
    // Provisioning hands every gateway the centre's fleet public key, which init-secrets makes.
    const fleetKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    writeFileSync(join(dir, 'credentials/fleet-signing.pub'), fleetKey);

    const rekeyed = provision(dir, ['--id', 'gw-an-xuan', '--expires', '2027-06-30T00:00:00+07:00']);
    expect(rekeyed.status, rekeyed.stderr).toBe(0);
    expect(rekeyed.stdout).toMatch(/stays disabled/);
    expect(creds()).toMatchObject({ disabled: true, secretExpiresAt: '2027-06-30T00:00:00+07:00' });
    expect(creds().secretHash).not.toBe(firstHash);

    expect(provision(dir, ['--id', 'gw-an-xuan', '--enable']).status).toBe(0);
    expect(creds().disabled).toBe(false);
    expect(creds().secretExpiresAt).toBeUndefined();
  });
});
