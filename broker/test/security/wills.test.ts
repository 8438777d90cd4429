import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { waitFor, type Peer } from '@tamky/test-support';
import type { BrokerHandle } from '../../src/index';
import { connectOk, gatewayOpts, metricValue, startOwnRedis, startTestBroker, tryConnect } from '../helpers';
import {
  isRunning,
  plantUncheckedWill,
  redisClient,
  startBrokerProcess,
  storedWillKeys,
  writeCredentialsFile,
  type BrokerProcess,
} from './support';

// Finding H1: wills were stored at CONNECT without an ACL check and published after an unclean stop with no
// client, so the ACL never saw them; a refused will fired while its clientId was connected crashed the broker.

const will = (topic: string, payload: string, retain = false) => ({
  will: { topic, payload: Buffer.from(payload), qos: 1 as const, retain },
});
const rogueRules = JSON.stringify({ version: 999_999_999, ts: Date.now(), rules: [] });

describe('a will is checked against the ACL at CONNECT', () => {
  let broker: BrokerHandle;
  let url: string;
  beforeAll(async () => {
    broker = await startTestBroker();
    url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  });
  afterAll(() => broker?.close());

  it('refuses the CONNECT (CONNACK 5) of a gateway whose will targets config or another gateway, and counts it', async () => {
    for (const [topic, payload, retain] of [
      ['city/v1/config/rules', rogueRules, true],
      ['city/v1/config/registry', '{}', true],
      ['city/v1/gw/gw-b/cmd', '{"cmd":"dim","level":0}', false],
      ['city/v1/gw/gw-a/telemetry', 'retained reading', true], // own topic, but retain is only allowed on status
    ] as const) {
      const r = await tryConnect(url, gatewayOpts('gw-a', 'secret-a', will(topic, payload, retain)));
      expect(r, `will on ${topic}`).toEqual({ refused: 5 });
    }
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'will-not-allowed' })).toBe(4);
  });

  it('refuses a service will beyond its rights too (ingest may not write config)', async () => {
    const r = await tryConnect(url, {
      username: 'ingest',
      password: 'secret-ingest',
      clientId: 'ingest-will',
      ...will('city/v1/config/rules', rogueRules, true),
    });
    expect(r).toEqual({ refused: 5 });
  });

  it('accepts a will within the rights and publishes it when the connection drops, unless its owner was disabled', async () => {
    const dash = await connectOk(url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard-wills' });
    const got: string[] = [];
    dash.on('message', (t, p) => got.push(`${t} ${p}`));
    await dash.subscribeAsync('city/v1/gw/+/status', { qos: 1 });
    const gw = await connectOk(url, gatewayOpts('gw-b', 'secret-b', will('city/v1/gw/gw-b/status', 'offline', true)));
    (gw as unknown as { stream: { destroy(): void } }).stream.destroy(); // an unclean drop, no DISCONNECT
    await waitFor(() => got.length === 1, { what: 'the will on gw-b/status' });
    expect(got).toEqual(['city/v1/gw/gw-b/status offline']);
    gw.end(true);

    // A will fires with its owner's rights as they are now: a gateway disabled (and so disconnected) is silent.
    const stolen = await connectOk(url, gatewayOpts('gw-b', 'secret-b', will('city/v1/gw/gw-b/status', 'stolen-offline', true)));
    const gone = new Promise<void>((resolve) => stolen.once('close', () => resolve()));
    broker.disableGateway('gw-b');
    await gone;
    await waitFor(async () => (await metricValue(broker, 'broker_refusals_total', { reason: 'will-unattributed' })) === 1, {
      what: "the disabled gateway's will refused",
    });
    const gwA = await connectOk(url, gatewayOpts('gw-a', 'secret-a'));
    await gwA.publishAsync('city/v1/gw/gw-a/status', 'online', { qos: 1 });
    await waitFor(() => got.length === 2, { what: 'a later status' });
    expect(got).toEqual(['city/v1/gw/gw-b/status offline', 'city/v1/gw/gw-a/status online']);
    broker.enableGateway('gw-b');
    stolen.end(true);
    await gwA.endAsync();
    await dash.endAsync();
  });
});

describe('wills after an unclean stop of a production broker on Redis', () => {
  let redis: Peer & { url: string };
  let credentialsFile: string;
  let broker: BrokerProcess | undefined;
  const clients: MqttClient[] = [];
  const config = () => [
    `credentialsFile: ${credentialsFile}`,
    `persistence: { type: redis, url: "${redis.url}" }`,
    'heartbeatIntervalMs: 200',
  ];

  beforeAll(async () => {
    redis = await startOwnRedis();
    credentialsFile = await writeCredentialsFile();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
  });
  afterAll(async () => {
    await broker?.stop();
    await redis?.stop();
  });

  it('publishes a checked will left by a killed broker, never an unchecked one, and stays up while one fires at a connected client', async () => {
    const db = redisClient(redis.url);
    try {
      // 1. A broker with a gateway that gave a proper will, killed -9.
      broker = await startBrokerProcess(config());
      const first = await connectOk(broker.url, gatewayOpts('gw-b', 'secret-b', will('city/v1/gw/gw-b/status', 'offline', true)));
      clients.push(first);
      await waitFor(async () => (await storedWillKeys(db)).length === 1, { what: "gw-b's will stored in Redis" });
      await broker.kill();
      first.end(true);

      // 2. Wills as a broker without the CONNECT check left them: on config/rules and on another gateway's cmd.
      await plantUncheckedWill(db, {
        brokerId: 'old-broker-1',
        clientId: 'gw-a',
        topic: 'city/v1/config/rules',
        payload: rogueRules,
        retain: true,
        qos: 1,
      });
      await plantUncheckedWill(db, {
        brokerId: 'old-broker-1',
        clientId: 'gw-a:diag',
        topic: 'city/v1/gw/gw-b/cmd',
        payload: '{"cmd":"dim","level":0}',
        retain: false,
        qos: 1,
      });

      // 3. Restart. Watch config and gw-b's commands as ingest and gw-b would.
      broker = await startBrokerProcess(config());
      const ingest = await connectOk(broker.url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-wills' });
      const dash = await connectOk(broker.url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard-wills' });
      const gwB = await connectOk(broker.url, gatewayOpts('gw-b', 'secret-b'));
      clients.push(ingest, dash, gwB);
      const seen: string[] = [];
      for (const c of [ingest, dash, gwB]) c.on('message', (t, p) => seen.push(`${t} ${p}`));
      await ingest.subscribeAsync('city/v1/config/#', { qos: 1 });
      await dash.subscribeAsync('city/v1/gw/+/status', { qos: 1 });
      await gwB.subscribeAsync('city/v1/gw/gw-b/cmd', { qos: 1 });

      // The checked will fires (the old broker is dead) ...
      await waitFor(() => seen.includes('city/v1/gw/gw-b/status offline'), { what: "gw-b's will from the killed broker" });
      // ... and the unchecked ones are gone from Redis without ever being published.
      await waitFor(async () => (await storedWillKeys(db)).length === 0, { what: 'the stored wills to be dealt with' });
      expect(seen.filter((s) => !s.startsWith('city/v1/gw/gw-b/status'))).toEqual([]);
      expect(await db.hget('retained', 'city/v1/config/rules')).toBeNull();

      // 4. An unchecked will that turns up while the broker runs (an older cluster node that died), fired while
      //    gw-a, which holds its clientId, is connected: refused, discarded, and the broker stays up.
      const gwA = await connectOk(broker.url, gatewayOpts('gw-a', 'secret-a'));
      clients.push(gwA);
      await plantUncheckedWill(db, {
        brokerId: 'old-broker-2',
        clientId: 'gw-a',
        topic: 'city/v1/config/rules',
        payload: rogueRules,
        retain: true,
        qos: 1,
      });
      await waitFor(async () => (await storedWillKeys(db)).length === 0, { what: 'the will sweep to reach the planted will' });
      // Readings still flow through the same broker process afterwards.
      await gwA.publishAsync('city/v1/gw/gw-a/status', 'still-here', { qos: 1 });
      await waitFor(() => seen.includes('city/v1/gw/gw-a/status still-here'), { what: 'a publish after the refused will' });
      expect(isRunning(broker)).toBe(true);
      expect(seen.filter((s) => s.startsWith('city/v1/config/'))).toEqual([]);
      expect(await db.hget('retained', 'city/v1/config/rules')).toBeNull();
      expect(broker.output()).not.toMatch(/unhandled rejection|uncaught/i);
      expect(broker.output()).toMatch(/will refused; discarded|stored will has no checked owner/);
    } finally {
      await db.quit();
    }
  });
});
