import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, waitFor, type Peer } from '@tamky/test-support';
import type { BrokerHandle } from '../src/index';
import { startTestBroker } from './helpers';
import { session, subscribe, type PublishPacket } from './conformance/wire';

/**
 * A persistent session's queue resent on reconnect (pipelined: session-resend.ts; with Redis, batched reads and
 * QoS 1 updates not awaited: persistence.ts), with memory and with Redis persistence: everything queued arrives,
 * once, in publish order per topic, at QoS 1 and QoS 2; a subscriber that drops in the middle of a resend still
 * gets everything on its next connection; and no more than the resend window goes out unacknowledged.
 */
const PER_GATEWAY = 400;
/** Unacknowledged messages a resend may have out at once (limits.resendWindow). */
const RESEND_WINDOW = 100;
const GATEWAYS = [
  ['gw-a', 'secret-a'],
  ['gw-b', 'secret-b'],
] as const;

// Memory persistence at QoS 2 is left out: aedes-persistence 10.3's in-memory outgoingUpdate files a PUBREL
// under the entry of an earlier PUBREL once two are outstanding (both lack a broker id), and a message goes
// missing with aedes' own one-at-a-time resend as well (broker/README.md). The city runs QoS 1.
const CASES = [
  ['memory', 1],
  ['redis', 1],
  ['redis', 2],
] as const;

describe.each(CASES)('session resend from %s persistence at QoS %i', (persistence, qos) => {
  let redis: (Peer & { url: string }) | undefined;
  let broker: BrokerHandle;
  const url = () => `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const clientId = `ingest-resend-${persistence}-q${qos}`;
  /** Listening before the CONNACK: the resend may arrive in the same read, before connectAsync would resolve. */
  const connectIngest = (into?: Map<string, number[]>) =>
    new Promise<MqttClient>((resolve, reject) => {
      const client = mqtt.connect(url(), { username: 'ingest', password: 'secret-ingest', clientId, clean: false, reconnectPeriod: 0 });
      if (into) collect(client, into);
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });

  beforeAll(async () => {
    if (persistence === 'redis') redis = await startRedis();
    broker = await startTestBroker({
      ...(redis ? { persistence: { type: 'redis', url: redis.url } } : {}),
      limits: { resendWindow: RESEND_WINDOW },
    });
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
    const back = await connectIngest(got);
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
      const dropped = await connectIngest(got);
      await waitFor(() => count(got) >= 50, { what: 'the resend under way' });
      dropped.end(true); // no DISCONNECT: the socket just goes

      const again = await connectIngest(got);
      for (const [id] of GATEWAYS)
        await waitFor(() => new Set(got.get(`city/v1/gw/${id}/telemetry`)).size >= PER_GATEWAY, {
          what: `all of ${id}`,
          timeoutMs: 30_000,
        });
      await again.endAsync();
      for (const [id] of GATEWAYS) {
        const seen = got.get(`city/v1/gw/${id}/telemetry`)!;
        expect([...new Set(seen)].sort((a, b) => a - b)).toEqual(range(PER_GATEWAY, PER_GATEWAY));
        // Only what was in flight when the socket went may come twice: at most the resend window.
        expect(seen.length - new Set(seen).size).toBeLessThanOrEqual(RESEND_WINDOW);
      }

      // Everything was acknowledged: a further reconnect resends nothing.
      const later = new Map<string, number[]>();
      const last = await connectIngest(later);
      await new Promise((r) => setTimeout(r, 1000));
      await last.endAsync();
      expect(count(later)).toBe(0);
      if (redis) {
        // The acknowledgements also cleared the store: no delivery left on the session's list, no packet kept.
        const db = new Redis(redis.url);
        try {
          expect(await db.llen(`outgoing:${clientId}`)).toBe(0);
          expect(await db.keys('packet:*')).toEqual([]);
        } finally {
          db.disconnect();
        }
      }
    });
});

describe('session resend window', () => {
  const WINDOW = 50;
  const QUEUED = 300;
  let broker: BrokerHandle;
  const url = () => `mqtt://127.0.0.1:${broker.ports.mqtt}`;

  beforeAll(async () => {
    broker = await startTestBroker({ limits: { resendWindow: WINDOW } });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('keeps at most the window unacknowledged, and sends the rest as acknowledgements come', async () => {
    const ingest = { clientId: 'ingest-window', clean: false, username: 'ingest', password: 'secret-ingest' };
    const first = await session(broker.ports.mqtt, ingest);
    await subscribe(first, 1, [{ topic: 'city/v1/gw/+/telemetry', qos: 1 }]);
    first.send({ cmd: 'disconnect' });
    await first.closed;
    const gw = await mqtt.connectAsync(url(), { username: 'gw-a', password: 'secret-a', clientId: 'gw-a', reconnectPeriod: 0 });
    for (let i = 0; i < QUEUED; i++) await gw.publishAsync('city/v1/gw/gw-a/telemetry', String(i), { qos: 1 });
    await gw.endAsync();

    // A raw subscriber: nothing is acknowledged until the test says so.
    const back = await session(broker.ports.mqtt, ingest);
    const got: PublishPacket[] = [];
    const take = async () => {
      const p = await back.next();
      if (p?.cmd === 'publish') got.push(p);
      return p;
    };
    while (got.length < WINDOW) if (!(await take())) throw new Error(`only ${got.length} before the window`);
    // Nothing more may follow until something is acknowledged.
    await expect(back.next(500)).rejects.toThrow(/no packet from the server/);
    expect(got.length).toBe(WINDOW);

    for (let acked = 0; got.length < QUEUED;) {
      while (acked < got.length) back.send({ cmd: 'puback', messageId: got[acked++]!.messageId! });
      if (!(await take())) throw new Error(`stalled at ${got.length} of ${QUEUED}`);
    }
    back.send({ cmd: 'disconnect' });
    expect(got.map((p) => Number(p.payload.toString()))).toEqual(Array.from({ length: QUEUED }, (_, i) => i));
  });
});
