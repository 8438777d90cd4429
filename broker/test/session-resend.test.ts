import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, waitFor, type Peer } from '@tamky/test-support';
import type { BrokerHandle } from '../src/index';
import { startTestBroker } from './helpers';

/**
 * A persistent session's queue resent on reconnect, with Redis persistence (batched reads, QoS 1 updates not
 * awaited: persistence.ts): everything queued arrives, once, in publish order per topic, at QoS 1 and QoS 2;
 * and a subscriber that drops in the middle of a resend still gets everything on its next connection.
 */
const PER_GATEWAY = 400;
const GATEWAYS = [
  ['gw-a', 'secret-a'],
  ['gw-b', 'secret-b'],
] as const;

describe.each([1, 2] as const)('session resend from Redis at QoS %i', (qos) => {
  let redis: Peer & { url: string };
  let broker: BrokerHandle;
  const url = () => `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const clientId = `ingest-resend-q${qos}`;
  const connectIngest = () =>
    mqtt.connectAsync(url(), { username: 'ingest', password: 'secret-ingest', clientId, clean: false, reconnectPeriod: 0 });

  beforeAll(async () => {
    redis = await startRedis();
    broker = await startTestBroker({ persistence: { type: 'redis', url: redis.url } });
  });
  afterAll(async () => {
    await broker?.close();
    await redis?.stop();
  });

  async function queueWhileAway(from: number): Promise<void> {
    await Promise.all(
      GATEWAYS.map(async ([id, secret]) => {
        const gw = await mqtt.connectAsync(url(), { username: id, password: secret, clientId: id, reconnectPeriod: 0 });
        for (let i = from; i < from + PER_GATEWAY; i++) await gw.publishAsync(`city/v1/gw/${id}/telemetry`, String(i), { qos });
        await gw.endAsync();
      }),
    );
  }

  function collect(client: MqttClient, into: Map<string, number[]>): void {
    client.on('message', (topic, payload) => {
      const list = into.get(topic) ?? [];
      list.push(Number(payload.toString()));
      into.set(topic, list);
    });
  }

  const count = (m: Map<string, number[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  it('resends the whole queue once, in order per topic', async () => {
    const first = await connectIngest();
    await first.subscribeAsync('city/v1/gw/+/telemetry', { qos });
    await first.endAsync();
    await queueWhileAway(0);

    const got = new Map<string, number[]>();
    const back = await connectIngest();
    collect(back, got);
    await waitFor(() => count(got) >= PER_GATEWAY * GATEWAYS.length, { what: 'the queue resent', timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300)); // nothing more may follow
    await back.endAsync();
    for (const [id] of GATEWAYS) expect(got.get(`city/v1/gw/${id}/telemetry`)).toEqual(range(0, PER_GATEWAY));
  });

  // QoS 1 only: a QoS 2 receiver that drops between PUBREC and PUBREL holds the message in its own store
  // (mqtt.js: memory), so a new client instance would lose it whatever the broker does.
  if (qos === 1)
    it('a subscriber dropped mid-resend gets the rest, none lost, on its next connection; then nothing is left', async () => {
      await queueWhileAway(PER_GATEWAY);
      const got = new Map<string, number[]>();
      const dropped = await connectIngest();
      collect(dropped, got);
      await waitFor(() => count(got) >= 50, { what: 'the resend under way' });
      dropped.end(true); // no DISCONNECT: the socket just goes

      const again = await connectIngest();
      collect(again, got);
      for (const [id] of GATEWAYS)
        await waitFor(() => new Set(got.get(`city/v1/gw/${id}/telemetry`)).size >= PER_GATEWAY, {
          what: `all of ${id}`,
          timeoutMs: 30_000,
        });
      await again.endAsync();
      for (const [id] of GATEWAYS) {
        const seen = got.get(`city/v1/gw/${id}/telemetry`)!;
        expect([...new Set(seen)].sort((a, b) => a - b)).toEqual(range(PER_GATEWAY, PER_GATEWAY));
        // Only what was in flight when the socket went may come twice.
        expect(seen.length - new Set(seen).size).toBeLessThanOrEqual(100);
      }

      // Everything was acknowledged: a further reconnect resends nothing.
      const later = new Map<string, number[]>();
      const last = await connectIngest();
      collect(last, later);
      await new Promise((r) => setTimeout(r, 1000));
      await last.endAsync();
      expect(count(later)).toBe(0);
    });
});
