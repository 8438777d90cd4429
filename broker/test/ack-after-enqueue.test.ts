import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Peer } from '@tamky/test-support';
import { connectOk, gatewayOpts, startOwnRedis, startTestBroker } from './helpers';

interface QueuePersistence {
  outgoingEnqueueCombi(subs: unknown[], packet: unknown): Promise<void>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
}

let redis: Peer & { url: string };
beforeAll(async () => {
  redis = await startOwnRedis();
});
afterAll(() => redis?.stop());

describe.each([
  ['memory', () => ({ persistence: { type: 'memory' as const } })],
  ['redis', () => ({ persistence: { type: 'redis' as const, url: `${redis.url}/2` } })],
])('QoS 1 PUBACK (%s persistence)', (name, persistence) => {
  it('reaches the publisher only once the message is queued for every persistent session', async () => {
    const broker = await startTestBroker(persistence());
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const sessionId = `ingest-ack-${name}`;
    const session = await connectOk(url, { username: 'ingest', password: 'secret-ingest', clientId: sessionId, clean: false });
    await session.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });
    await session.endAsync();

    // A slow store (a busy Redis): each enqueue takes 300 ms.
    const p = (broker.aedes as unknown as { persistence: QueuePersistence }).persistence;
    const enqueue = p.outgoingEnqueueCombi.bind(p);
    p.outgoingEnqueueCombi = async (subs, packet) => {
      await new Promise((r) => setTimeout(r, 300));
      await enqueue(subs, packet);
    };
    const queued = async () => {
      let n = 0;
      for await (const _ of p.outgoingStream({ id: sessionId })) n++;
      return n;
    };

    const gw = await connectOk(url, gatewayOpts('gw-a', 'secret-a'));
    const depthAtPuback: number[] = [];
    for (let i = 1; i <= 3; i++) {
      await gw.publishAsync('city/v1/gw/gw-a/telemetry', String(i), { qos: 1 });
      // The gateway deletes the reading from its outbox now: the session must already hold it.
      depthAtPuback.push(await queued());
    }
    expect(depthAtPuback).toEqual([1, 2, 3]);

    // Published once each, not again after the PUBACK.
    await new Promise((r) => setTimeout(r, 400));
    expect(await queued()).toBe(3);
    await gw.endAsync();
    await broker.close();
  });
});
