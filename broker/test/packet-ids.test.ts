import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { generate, parser as mqttParser, type IPublishPacket, type Packet } from 'mqtt-packet';
import { waitFor, type Peer } from '@tamky/test-support';
import type { BrokerHandle } from '../src/index';
import { connectOk, gatewayOpts, startOwnRedis, startTestBroker } from './helpers';

/** A persistent subscriber that acknowledges only what the test tells it to, by packet id. */
async function rawSubscriber(port: number, clientId: string) {
  const socket: Socket = netConnect(port, '127.0.0.1');
  const publishes: IPublishPacket[] = [];
  let connack: { sessionPresent: boolean } | undefined;
  let suback = false;
  const parser = mqttParser({ protocolVersion: 4 });
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'publish') publishes.push(p);
    else if (p.cmd === 'connack') connack = { sessionPresent: p.sessionPresent };
    else if (p.cmd === 'suback') suback = true;
  });
  socket.on('data', (c) => parser.parse(c));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: false,
      clientId,
      keepalive: 0,
      username: 'ingest',
      password: Buffer.from('secret-ingest'),
    }),
  );
  await waitFor(() => connack !== undefined, { what: 'CONNACK' });
  return {
    publishes,
    sessionPresent: () => connack!.sessionPresent,
    async subscribe(topic: string) {
      socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }));
      await waitFor(() => suback, { what: 'SUBACK' });
    },
    ack(messageId: number) {
      socket.write(generate({ cmd: 'puback', messageId }));
    },
    async close() {
      socket.end(generate({ cmd: 'disconnect' }));
      await new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
    },
  };
}

let redis: Peer & { url: string };
beforeAll(async () => {
  redis = await startOwnRedis();
});
afterAll(() => redis?.stop());

describe('packet ids of a persistent session after a broker restart', () => {
  it('never gives a new delivery the id of a resent one still unacknowledged, so a PUBACK clears only its own message', async () => {
    const config = { persistence: { type: 'redis' as const, url: redis.url } };
    const topic = 'city/v1/gw/gw-a/telemetry';
    let broker: BrokerHandle = await startTestBroker(config);
    const gwPublish = async (from: number, to: number) => {
      const gw = await connectOk(`mqtt://127.0.0.1:${broker.ports.mqtt}`, gatewayOpts('gw-a', 'secret-a'));
      for (let i = from; i <= to; i++) await gw.publishAsync(topic, String(i), { qos: 1 });
      await gw.endAsync();
    };

    // 1. Messages 1..5 are delivered and left unacknowledged (ingest holds PUBACKs until durable).
    const first = await rawSubscriber(broker.ports.mqtt, 'ingest-ids');
    await first.subscribe('city/v1/gw/+/telemetry');
    await gwPublish(1, 5);
    await waitFor(() => first.publishes.length === 5, { what: '5 deliveries before the restart' });
    const oldIds = first.publishes.map((p) => p.messageId!);
    await first.close();

    // 2. The broker restarts on the same Redis. aedes starts each connection's id counter at a random
    // value; pin it to where the previous connection's counter started, the collision a city run hits.
    await broker.close();
    broker = await startTestBroker(config);
    broker.aedes.on('client', (client) => {
      if (client.id === 'ingest-ids') (client as unknown as { _nextId: number })._nextId = oldIds[0]!;
    });

    // 3. Reconnect: 1..5 are resent (their old ids), then 6..10 arrive live. All ten are unacknowledged.
    const second = await rawSubscriber(broker.ports.mqtt, 'ingest-ids');
    expect(second.sessionPresent()).toBe(true);
    await waitFor(() => second.publishes.length === 5, { what: '5 resent deliveries' });
    await gwPublish(6, 10);
    await waitFor(() => second.publishes.length === 10, { what: `10 deliveries (got ${second.publishes.length})` });
    const byPayload = new Map(second.publishes.map((p) => [p.payload.toString(), p.messageId!]));
    expect([...byPayload.keys()].sort((a, b) => Number(a) - Number(b))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(new Set(byPayload.values()).size).toBe(10);

    // 4. Only 1..5 become durable and are acknowledged; the subscriber then dies before storing 6..10.
    for (const n of ['1', '2', '3', '4', '5']) second.ack(byPayload.get(n)!);
    await new Promise((r) => setTimeout(r, 200));
    await second.close();

    // 5. 6..10 must still be in the session: every one of them is redelivered.
    const third = await rawSubscriber(broker.ports.mqtt, 'ingest-ids');
    await waitFor(() => third.publishes.length >= 5, {
      what: `6..10 redelivered (got ${third.publishes.map((p) => p.payload.toString())})`,
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(third.publishes.map((p) => p.payload.toString()).sort((a, b) => Number(a) - Number(b))).toEqual(['6', '7', '8', '9', '10']);
    await third.close();
    await broker.close();
  });
});
