import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@tamky/test-support';
import type { BrokerHandle } from '../src/index';
import { connectOk, gatewayOpts, metricValue, startTestBroker, startWellBehavedFlow, subackCodes, tryConnect } from './helpers';

let broker: BrokerHandle;
let url: string;
let flow: Awaited<ReturnType<typeof startWellBehavedFlow>>;

beforeAll(async () => {
  broker = await startTestBroker();
  url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  flow = await startWellBehavedFlow(url);
});

afterAll(async () => {
  await flow?.stop();
  await broker?.close();
});

const closed = (client: import('mqtt').MqttClient) =>
  new Promise<void>((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));

describe('authentication', () => {
  it('refuses a wrong secret with CONNACK 4 and counts it', async () => {
    expect(await tryConnect(url, gatewayOpts('gw-b', 'not-the-secret'))).toEqual({ refused: 4 });
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'bad-credentials' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses an unknown gateway', async () => {
    expect(await tryConnect(url, gatewayOpts('gw-nobody', 'whatever'))).toEqual({ refused: 4 });
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'unknown-user' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses anonymous clients in the production profile, even from loopback', async () => {
    expect(await tryConnect(url, {})).toEqual({ refused: 5 });
  });

  it('refuses a gateway whose clientId is not its own (it could otherwise take over another session)', async () => {
    expect(await tryConnect(url, gatewayOpts('gw-b', 'secret-b', { clientId: 'ingest-flow' }))).toEqual({ refused: 2 });
    const ok = await connectOk(url, gatewayOpts('gw-b', 'secret-b', { clientId: 'gw-b:diagnostics' }));
    await ok.endAsync();
  });

  it('refuses a gateway disabled in the credentials', async () => {
    expect(await tryConnect(url, gatewayOpts('gw-off', 'secret-off'))).toEqual({ refused: 5 });
  });

  it('disableGateway disconnects the live gateway and refuses it afterwards; enableGateway lets it back', async () => {
    const gw = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    const gone = closed(gw);
    broker.disableGateway('gw-b');
    await gone;
    expect(await tryConnect(url, gatewayOpts('gw-b', 'secret-b'))).toEqual({ refused: 5 });
    broker.enableGateway('gw-b');
    const back = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    await back.endAsync();
  });
});

describe('topic rights', () => {
  it("disconnects a gateway that publishes on another gateway's topic, and nothing is delivered", async () => {
    const seen: string[] = [];
    const spy = await connectOk(url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard-spy' });
    spy.on('message', (topic) => seen.push(topic));
    await spy.subscribeAsync('city/v1/gw/+/status', { qos: 1 });
    const rogue = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    const gone = closed(rogue);
    rogue.publish('city/v1/gw/gw-a/status', 'offline', { qos: 1 });
    await gone;
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'publish-not-allowed' })).toBeGreaterThanOrEqual(1);
    expect(seen).toEqual([]);
    await spy.endAsync();
  });

  it('allows a gateway to retain only its status', async () => {
    const gw = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    await gw.publishAsync('city/v1/gw/gw-b/status', '{"online":true}', { qos: 1, retain: true });
    expect(gw.connected).toBe(true);
    const gone = closed(gw);
    gw.publish('city/v1/gw/gw-b/telemetry', '{}', { qos: 1, retain: true });
    await gone;
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'retain-not-allowed' })).toBeGreaterThanOrEqual(1);
  });

  it("answers SUBACK 0x80 for filters beyond a client's rights and keeps the connection", async () => {
    const gw = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    expect(await subackCodes(gw, ['#', 'city/#', 'city/v1/gw/gw-a/cmd', 'city/v1/gw/+/cmd', 'city/v1/gw/gw-b/cmd'])).toEqual([
      128, 128, 128, 128, 1,
    ]);
    expect(gw.connected).toBe(true);
    await gw.endAsync();

    const ingest = await connectOk(url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-acl' });
    expect(
      await subackCodes(ingest, ['city/v1/gw/+/telemetry', 'city/v1/gw/#', 'city/v1/gw/+/cmd', 'city/v1/config/#', 'city/v1/#', '$SYS/#']),
    ).toEqual([1, 128, 128, 1, 128, 128]);
    await ingest.endAsync();
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'subscribe-not-allowed' })).toBeGreaterThanOrEqual(7);
  });

  it('lets the dashboard command any gateway and the gateway receive only its own commands', async () => {
    const gwA = await connectOk(url, gatewayOpts('gw-a', 'secret-a', { clientId: 'gw-a:cmd' }));
    const gwB = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    const got: Record<string, string[]> = { a: [], b: [] };
    gwA.on('message', (_t, p) => got.a!.push(p.toString()));
    gwB.on('message', (_t, p) => got.b!.push(p.toString()));
    await gwA.subscribeAsync('city/v1/gw/gw-a/cmd', { qos: 1 });
    await gwB.subscribeAsync('city/v1/gw/gw-b/cmd', { qos: 1 });
    const dash = await connectOk(url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard' });
    await dash.publishAsync('city/v1/gw/gw-a/cmd', 'reboot-a', { qos: 1 });
    await dash.publishAsync('city/v1/config/registry', '{"v":1}', { qos: 1, retain: true });
    await waitFor(() => got.a!.length === 1, { what: 'command at gw-a' });
    expect(got).toEqual({ a: ['reboot-a'], b: [] });
    // The dashboard may not publish telemetry in a gateway's name.
    const gone = closed(dash);
    dash.publish('city/v1/gw/gw-a/telemetry', '{}', { qos: 1 });
    await gone;
    await Promise.all([gwA.endAsync(), gwB.endAsync()]);
  });

  it("publishes a gateway's retained last will on its status topic when it vanishes", async () => {
    const will = { topic: 'city/v1/gw/gw-b/status', payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true };
    const gw = await connectOk(url, gatewayOpts('gw-b', 'secret-b', { will }));
    await gw.publishAsync('city/v1/gw/gw-b/status', '{"online":true}', { qos: 1, retain: true });
    (gw.stream as import('node:net').Socket).destroy(); // no DISCONNECT: the broker must publish the will
    const dash = await connectOk(url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard-will' });
    const seen: string[] = [];
    dash.on('message', (_t, p) => seen.push(p.toString()));
    await waitFor(
      async () => {
        seen.length = 0;
        await dash.unsubscribeAsync('city/v1/gw/gw-b/status');
        await dash.subscribeAsync('city/v1/gw/gw-b/status', { qos: 1 });
        await new Promise((r) => setTimeout(r, 50));
        return seen.at(-1) === '{"online":false}';
      },
      { what: 'retained offline status from the will' },
    );
    await dash.endAsync();
    gw.end(true);
  });

  it('refuses connections beyond maxConnections with CONNACK 3', async () => {
    const small = await startTestBroker({ limits: { maxConnections: 2 } });
    const smallUrl = `mqtt://127.0.0.1:${small.ports.mqtt}`;
    const a = await connectOk(smallUrl, gatewayOpts('gw-a', 'secret-a', { clientId: 'gw-a:1' }));
    const b = await connectOk(smallUrl, gatewayOpts('gw-a', 'secret-a', { clientId: 'gw-a:2' }));
    expect(await tryConnect(smallUrl, gatewayOpts('gw-b', 'secret-b'))).toEqual({ refused: 3 });
    expect(await metricValue(small, 'broker_refusals_total', { reason: 'max-connections' })).toBe(1);
    await a.endAsync();
    await waitFor(() => small.aedes.connectedClients === 1, { what: 'a slot to free up' });
    const c = await connectOk(smallUrl, gatewayOpts('gw-b', 'secret-b'));
    await Promise.all([b.endAsync(), c.endAsync()]);
    await small.close();
  });

  it("kept the well-behaved gateway's readings flowing through all of the above", async () => {
    const before = flow.count();
    await waitFor(() => flow.count() >= before + 10, { what: 'more readings from the well-behaved gateway' });
    expect(flow.gateway.connected).toBe(true);
    // Delivered in order and without gaps (QoS 1, one publisher).
    const r = flow.received;
    expect(r.slice(0, 30)).toEqual(Array.from({ length: Math.min(30, r.length) }, (_, i) => i + 1));
  });
});
