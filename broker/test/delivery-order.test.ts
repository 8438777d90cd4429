import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@tamky/test-support';
import { hashForTest, startOwnRedis, startTestBroker, testCredentials } from './helpers';

/**
 * With sessions in Redis, a QoS 1 delivery waits for its enqueue and later messages can overtake it.
 * aedes then took the overtaken message for a duplicate and held it back until the subscriber reconnected
 * (aedes issues #955, #994). A connected persistent subscriber must get every message acknowledged to a
 * publisher, while it stays connected.
 */
describe('delivery to a connected persistent subscriber with sessions in Redis', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('delivers every acknowledged QoS 1 message without a reconnect, while QoS 0 traffic interleaves', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.stop());
    // Anonymous clients may only subscribe: the publishers sign in as gateways, the live feed as ingest.
    const credentials = await testCredentials();
    const secretHash = await hashForTest('secret-order');
    credentials.gateways.push(...Array.from({ length: 10 }, (_, i) => ({ id: `gw-order-${i}`, secretHash })));
    const broker = await startTestBroker({ profile: 'development', credentials, persistence: { type: 'redis', url: redis.url } });
    cleanups.push(() => broker.close());
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;

    // Like the dashboard: telemetry-style QoS 1 plus the live feed at QoS 0, on one persistent session.
    const received = new Set<string>();
    const sub = await mqtt.connectAsync(url, { clientId: 'order-sub', clean: false, protocolVersion: 4 });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (topic, payload) => {
      if (topic.endsWith('/telemetry')) received.add(payload.toString());
    });
    await sub.subscribeAsync({ 'city/v1/gw/+/telemetry': { qos: 1 }, 'city/v1/live/readings': { qos: 0 } });

    const live = await mqtt.connectAsync(url, {
      clientId: 'ingest:order-live',
      username: 'ingest',
      password: 'secret-ingest',
      protocolVersion: 4,
    });
    cleanups.push(() => live.endAsync());
    const publishers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        mqtt.connectAsync(url, { clientId: `gw-order-${i}`, username: `gw-order-${i}`, password: 'secret-order', protocolVersion: 4 }),
      ),
    );
    cleanups.push(() => Promise.all(publishers.map((p) => p.endAsync())));

    const acked: string[] = [];
    for (let round = 0; round < 40; round++) {
      await Promise.all([
        ...publishers.map(async (p, i) => {
          const body = `gw-order-${i}#${round}`;
          await p.publishAsync(`city/v1/gw/gw-order-${i}/telemetry`, body, { qos: 1 });
          acked.push(body);
        }),
        ...Array.from({ length: 10 }, () => live.publishAsync('city/v1/live/readings', 'x'.repeat(200), { qos: 0 })),
      ]);
    }
    expect(acked).toHaveLength(400);
    await waitFor(() => acked.every((m) => received.has(m)), {
      what: `every acknowledged message delivered (${received.size}/${acked.length})`,
      timeoutMs: 20_000,
    }).catch((err) => {
      const missing = acked.filter((m) => !received.has(m));
      throw new Error(`${String(err)}; never delivered while connected: ${missing.length} (e.g. ${missing.slice(0, 5).join(', ')})`);
    });
  });
});
