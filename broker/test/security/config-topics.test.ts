import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { waitFor } from '@tamky/test-support';
import type { BrokerHandle } from '../../src/index';
import { connectOk, gatewayOpts, metricValue, startTestBroker } from '../helpers';

// Config topics (city/v1/config/#: registry, rules) steer every alarm and the device registry: only the
// dashboard's service account may write them. Finding "Low": anonymous loopback MQTT in the demo had full rights.

const rogueRules = JSON.stringify({ version: 999_999_999, rules: [] });

/** Publishes once and reports whether the broker let the connection live (a refused PUBLISH closes it). */
async function publishAndSee(client: MqttClient, topic: string, payload: string, retain: boolean): Promise<'closed' | 'accepted'> {
  const closed = new Promise<'closed'>((resolve) => client.once('close', () => resolve('closed')));
  const acked = client.publishAsync(topic, payload, { qos: 1, retain }).then(
    () => 'accepted' as const,
    () => 'closed' as const,
  );
  return Promise.race([closed, acked]);
}

for (const profile of ['production', 'development'] as const) {
  describe(`config topics are written by the dashboard only (${profile} profile)`, () => {
    let broker: BrokerHandle;
    let url: string;
    let watcher: MqttClient;
    const seen: string[] = [];

    beforeAll(async () => {
      broker = await startTestBroker({ profile });
      url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
      watcher = await connectOk(url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-config-watch' });
      watcher.on('message', (t, p) => seen.push(`${t} ${p}`));
      await watcher.subscribeAsync('city/v1/config/#', { qos: 1 });
    });
    afterAll(async () => {
      await watcher?.endAsync();
      await broker?.close();
    });

    it('refuses a gateway and the ingest account on config/rules and config/registry (connection closed, nothing delivered)', async () => {
      for (const topic of ['city/v1/config/rules', 'city/v1/config/registry']) {
        const gw = await connectOk(url, gatewayOpts('gw-a', 'secret-a'));
        expect(await publishAndSee(gw, topic, rogueRules, true), `gateway on ${topic}`).toBe('closed');
        const ingest = await connectOk(url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-writer' });
        expect(await publishAndSee(ingest, topic, rogueRules, true), `ingest on ${topic}`).toBe('closed');
        gw.end(true);
        ingest.end(true);
      }
      expect(await metricValue(broker, 'broker_refusals_total', { reason: 'publish-not-allowed' })).toBe(4);
    });

    it('lets the dashboard write them, retained', async () => {
      const dash = await connectOk(url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard-config' });
      expect(await publishAndSee(dash, 'city/v1/config/rules', '{"version":1,"rules":[]}', true)).toBe('accepted');
      await waitFor(() => seen.length === 1, { what: 'the dashboard rule set' });
      expect(seen).toEqual(['city/v1/config/rules {"version":1,"rules":[]}']);
      await dash.endAsync();
    });
  });
}

describe('anonymous loopback MQTT (development profile) is read-only', () => {
  let broker: BrokerHandle;
  let port: string;
  beforeAll(async () => {
    broker = await startTestBroker({ profile: 'development' });
    port = String(broker.ports.mqtt);
  });
  afterAll(() => broker?.close());

  it('may subscribe to everything but publish nothing: no config, no commands that skip the audited dashboard', async () => {
    const gwB = await connectOk(`mqtt://127.0.0.1:${port}`, gatewayOpts('gw-b', 'secret-b'));
    const ingest = await connectOk(`mqtt://127.0.0.1:${port}`, {
      username: 'ingest',
      password: 'secret-ingest',
      clientId: 'ingest-anon-watch',
    });
    const seen: string[] = [];
    for (const c of [gwB, ingest]) c.on('message', (t, p) => seen.push(`${t} ${p}`));
    await gwB.subscribeAsync('city/v1/gw/gw-b/cmd', { qos: 1 });
    await ingest.subscribeAsync('city/v1/config/#', { qos: 1 });

    const anon = await connectOk(`mqtt://127.0.0.1:${port}`, { clientId: 'anon-reader' });
    const anonSeen: string[] = [];
    anon.on('message', (t, p) => anonSeen.push(`${t} ${p}`));
    await anon.subscribeAsync('#', { qos: 1 }); // reading stays allowed for development tools

    for (const [topic, payload] of [
      ['city/v1/gw/gw-b/cmd', '{"cmd":"dim","level":0}'],
      ['city/v1/config/rules', rogueRules],
      ['city/v1/gw/gw-a/telemetry', 'forged reading'],
    ] as const) {
      const writer = await connectOk(`mqtt://127.0.0.1:${port}`, { clientId: 'anon-writer' });
      expect(await publishAndSee(writer, topic, payload, false), `anonymous publish to ${topic}`).toBe('closed');
      writer.end(true);
    }
    // What the gateway itself publishes still reaches the anonymous reader.
    const gwA = await connectOk(`mqtt://127.0.0.1:${port}`, gatewayOpts('gw-a', 'secret-a'));
    await gwA.publishAsync('city/v1/gw/gw-a/status', 'online', { qos: 1 });
    await waitFor(() => anonSeen.includes('city/v1/gw/gw-a/status online'), { what: 'the anonymous reader to see a real publish' });
    expect(seen).toEqual([]);
    expect(anonSeen).toEqual(['city/v1/gw/gw-a/status online']);
    for (const c of [gwA, gwB, ingest, anon]) await c.endAsync();
  });
});
