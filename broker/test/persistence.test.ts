import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, waitFor, type Peer } from '@tamky/test-support';
import { connect } from 'mqtt';
import type { BrokerHandle } from '../src/index';
import { connectOk, gatewayOpts, startTestBroker } from './helpers';

let redis: Peer & { url: string };
beforeAll(async () => {
  redis = await startRedis();
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
