import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import { startRedis, type Peer } from '@tamky/test-support';
import { hashSecret, startBroker, type BrokerConfig, type BrokerHandle } from '../src/index';

/** Cheap scrypt parameters: tests exercise the format and the comparison, not the cost. */
export const hashForTest = (secret: string) => hashSecret(secret, { N: 1024, r: 8, p: 1 });

export const silentLogger = async () => (await import('@tamky/service-kit')).createLogger('broker-test', { level: 'silent' });

export async function testCredentials() {
  return {
    gateways: [
      { id: 'gw-a', secretHash: await hashForTest('secret-a') },
      { id: 'gw-b', secretHash: await hashForTest('secret-b') },
      { id: 'gw-off', secretHash: await hashForTest('secret-off'), disabled: true },
    ],
    services: [
      { username: 'ingest', secretHash: await hashForTest('secret-ingest'), role: 'ingest' as const },
      { username: 'dashboard', secretHash: await hashForTest('secret-dashboard'), role: 'dashboard' as const },
    ],
  };
}

export async function startTestBroker(overrides: Partial<BrokerConfig> = {}): Promise<BrokerHandle> {
  return startBroker(
    {
      profile: 'production',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: await testCredentials(),
      ...overrides,
    },
    { logger: await silentLogger() },
  );
}

export type ConnectResult = { client: MqttClient } | { refused: number | string };

/** Connects once (no reconnects); resolves with the client, or with the CONNACK code / error that refused it. */
export function tryConnect(url: string, opts: IClientOptions = {}): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const client = mqttConnect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...opts });
    client.once('connect', () => resolve({ client }));
    client.once('error', (err: Error & { code?: number | string }) => {
      client.end(true);
      resolve({ refused: err.code ?? err.message });
    });
    client.once('close', () => resolve({ refused: 'closed' }));
  });
}

export async function connectOk(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const r = await tryConnect(url, opts);
  if ('refused' in r) throw new Error(`connect as ${opts.username ?? 'anonymous'} refused: ${r.refused}`);
  return r.client;
}

export const gatewayOpts = (id: string, secret: string, extra: IClientOptions = {}): IClientOptions => ({
  username: id,
  password: secret,
  clientId: id,
  ...extra,
});

export async function metricValue(broker: BrokerHandle, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await broker.metrics.getSingleMetric(name)?.get();
  if (!metric) return 0;
  const match = metric.values.find((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val));
  return match?.value ?? 0;
}

/**
 * A well-behaved gateway: publishes numbered QoS 1 telemetry every `intervalMs` while a test does bad things,
 * so the test can assert the data kept flowing.
 */
export async function startWellBehavedFlow(url: string) {
  const subscriber = await connectOk(url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-flow' });
  const received: number[] = [];
  subscriber.on('message', (topic, payload) => {
    if (topic === 'city/v1/gw/gw-a/telemetry') received.push(Number(payload.toString()));
  });
  await subscriber.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });
  const gateway = await connectOk(url, gatewayOpts('gw-a', 'secret-a'));
  let seq = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await gateway.publishAsync('city/v1/gw/gw-a/telemetry', String(++seq), { qos: 1 });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    received,
    gateway,
    /** Number of readings delivered so far. */
    count: () => received.length,
    async stop() {
      stopped = true;
      await Promise.race([loop.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
      await gateway.endAsync();
      await subscriber.endAsync();
      return { sent: seq, received };
    },
  };
}

/** SUBACK return codes per filter (mqtt.js rejects when any is 0x80, so read them from the SUBACK itself). */
export async function subackCodes(client: MqttClient, filters: string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    const grants = await client.subscribeAsync(filters, { qos });
    return grants.map((g) => g.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet?.granted;
    if (!granted) throw err;
    return granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}

/**
 * startRedis on a port from freePort() can lose a race with another test process taking the same port: the
 * port then answers (someone else's server) while our redis-server exits for want of it. Make sure the
 * redis we talk to is the one we started.
 */
export async function startOwnRedis(attempts = 3): Promise<Peer & { port: number; url: string }> {
  for (let i = 1; ; i++) {
    const redis = await startRedis();
    await new Promise((r) => setTimeout(r, 300));
    if (redis.child.exitCode === null && redis.child.signalCode === null) return redis;
    if (i >= attempts) throw new Error(`redis-server did not keep its port: ${redis.output().slice(-500)}`);
  }
}
