import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type Peer } from '@tamky/test-support';
import { connect } from 'mqtt';
import type { BrokerHandle } from '../src/index';
import { connectOk, gatewayOpts, metricValue, startOwnRedis, startTestBroker } from './helpers';

let redis: Peer & { url: string };
beforeAll(async () => {
  redis = await startOwnRedis();
});
afterAll(() => redis?.stop());

describe('redis persistence', () => {
  it('delivers QoS 1 messages queued for an offline persistent session after the broker restarts', async () => {
    const config = { persistence: { type: 'redis' as const, url: redis.url } };
    let broker: BrokerHandle = await startTestBroker(config);
    const url = () => `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const sessionOpts = { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-durable', clean: false };

    const first = await connectOk(url(), sessionOpts);
    await first.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });
    await first.endAsync();

    const gw = await connectOk(url(), gatewayOpts('gw-a', 'secret-a'));
    for (let i = 1; i <= 20; i++) await gw.publishAsync('city/v1/gw/gw-a/telemetry', String(i), { qos: 1 });
    // A retained status survives too.
    await gw.publishAsync('city/v1/gw/gw-a/status', 'online', { qos: 1, retain: true });
    await gw.endAsync();

    await broker.close();
    broker = await startTestBroker(config);

    const got: number[] = [];
    // Listen before CONNACK: the queued messages follow it immediately.
    const second = connect(url(), { ...sessionOpts, reconnectPeriod: 0 });
    second.on('message', (_t, p) => got.push(Number(p.toString())));
    const connack = new Promise<boolean>((resolve) => second.once('connect', (p) => resolve(p.sessionPresent)));
    expect(await connack).toBe(true);
    await waitFor(() => got.length >= 20, { what: `20 queued readings after restart (got ${got.length})` });
    expect([...new Set(got)].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await second.endAsync();

    const dash = await connectOk(url(), { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard' });
    const retained: string[] = [];
    dash.on('message', (t, p) => retained.push(`${t} ${p}`));
    await dash.subscribeAsync('city/v1/gw/+/status', { qos: 1 });
    await waitFor(() => retained.length === 1, { what: 'retained status after restart' });
    expect(retained).toEqual(['city/v1/gw/gw-a/status online']);
    await dash.endAsync();
    await broker.close();
  });
});

describe.each([
  ['memory', () => ({ persistence: { type: 'memory' as const } })],
  // db 1: the restart test above leaves a persistent session subscribed in db 0
  ['redis', () => ({ persistence: { type: 'redis' as const, url: `${redis.url}/1` } })],
])('offline queue bound (%s persistence)', (name, persistence) => {
  it('keeps at most maxOfflineMessages for an offline session, drops the newest beyond, and counts the drops', async () => {
    const broker = await startTestBroker({ ...persistence(), limits: { maxOfflineMessages: 10 } });
    const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
    const session = { username: 'ingest', password: 'secret-ingest', clientId: `ingest-bounded-${name}`, clean: false };
    const first = await connectOk(url, session);
    await first.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });
    await first.endAsync();

    const gw = await connectOk(url, gatewayOpts('gw-a', 'secret-a'));
    for (let i = 1; i <= 25; i++) await gw.publishAsync('city/v1/gw/gw-a/telemetry', String(i), { qos: 1 });
    await gw.endAsync();
    // The broker acks a QoS 1 PUBLISH before queueing it for subscribers: wait until all 25 are accounted for.
    const drops = () => metricValue(broker, 'broker_refusals_total', { reason: 'offline-queue-full' });
    const queued = () => metricValue(broker, 'broker_offline_messages_queued');
    await waitFor(async () => (await drops()) + (await queued()) >= 25, { what: '25 readings queued or dropped' });
    // Memory persistence counts exactly; with Redis an enqueue still in flight during a recount counts as
    // queued, so the bound may refuse slightly early, never late.
    if (name === 'memory') expect([await drops(), await queued()]).toEqual([15, 10]);
    expect(await drops()).toBeGreaterThanOrEqual(15);

    const got: number[] = [];
    const back = connect(url, { ...session, reconnectPeriod: 0 });
    back.on('message', (_t, p) => got.push(Number(p.toString())));
    await waitFor(() => got.length > 0, { what: 'the queued readings' });
    await new Promise((r) => setTimeout(r, 500)); // the rest of the queue follows at once
    // At most the bound, the oldest kept and the newest dropped.
    expect(got.length).toBeLessThanOrEqual(10);
    if (name === 'memory') expect(got.length).toBe(10);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    await waitFor(async () => (await queued()) === 0, { what: 'queue depth back to 0 after the acks' });
    await back.endAsync();
    await broker.close();
  });
});
