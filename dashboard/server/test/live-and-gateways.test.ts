import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics, type GatewayHealth } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { api, login, mqttClient, startHarness, wsClient, type Harness, type Session } from './helpers';

let h: Harness;
let mq: MqttClient;
let viewer: Session;
let tech: Session;

const health = (gateway: string, ts: number): GatewayHealth => ({
  gateway,
  ts,
  uptimeS: 120,
  version: '1.2.3',
  configHash: 'abc',
  cpuPct: 3,
  rssBytes: 50_000_000,
  diskFreeBytes: 1e9,
  diskTotalBytes: 8e9,
  outbox: { depth: 4, oldestTs: ts - 1000, bytes: 900, dropped: 0, notDurable: 0 },
  devices: [
    {
      device: 'an-my-air-1',
      ok: 10,
      timeouts: 2,
      crcErrors: 1,
      exceptions: 0,
      lastOkTs: ts,
      lastError: 'timeout',
      lastErrorTs: ts - 5000,
      backoffUntil: null,
      pollIntervalMs: 5000,
    },
  ],
});

beforeAll(async () => {
  h = await startHarness({ config: { ws: { pingIntervalMs: 300, maxBufferedBytes: 1_048_576 } } });
  mq = await mqttClient(h.mqttUrl);
  viewer = await login(h.url, 'viewer');
  tech = await login(h.url, 'technician');
});
afterAll(async () => {
  await mq?.endAsync();
  await h?.close();
});

describe('WebSocket live feed', () => {
  it('says hello, pings with serverTime, and relays live readings and derived values only to subscribers', async () => {
    const sub = await wsClient(h.url, { cookie: viewer.cookie });
    const other = await wsClient(h.url, { cookie: viewer.cookie });
    await sub.next((f) => f.type === 'hello', 'hello');
    sub.ws.send(JSON.stringify({ type: 'subscribe', channels: ['readings', 'derived'] }));
    other.ws.send(JSON.stringify({ type: 'subscribe', channels: ['alarms'] }));
    await sub.next((f) => f.type === 'subscribed', 'subscribe ack');
    await other.next((f) => f.type === 'subscribed', 'subscribe ack');

    const reading = {
      kind: 'noise_meter',
      device: 'an-my-noise-1',
      gateway: 'gw-an-my',
      ward: 'an-my',
      ts: 1_760_000_000_000,
      seq: 7,
      values: { laeq: 61.5 },
    };
    await mq.publishAsync(topics.liveReadings(), JSON.stringify({ readings: [reading] }));
    const frame = await sub.next((f) => f.type === 'readings', 'live readings frame');
    expect(frame.readings).toEqual([reading]);

    const derived = {
      kind: 'vn_aqi',
      device: 'an-my-air-1',
      gateway: 'gw-an-my',
      ward: 'an-my',
      ts: 1_760_000_000_000,
      seq: 0,
      values: { aqi: 87 },
    };
    await mq.publishAsync(topics.liveDerived(), JSON.stringify({ readings: [derived] }));
    expect((await sub.next((f) => f.type === 'derived', 'derived frame')).readings).toEqual([derived]);

    // Malformed live payloads are ignored without disturbing the feed.
    await mq.publishAsync(topics.liveReadings(), 'not json');
    const ping = await sub.next((f) => f.type === 'ping', 'ping');
    expect(typeof ping.serverTime).toBe('number');
    expect(other.frames.some((f) => f.type === 'readings' || f.type === 'derived')).toBe(false);
    // A page opened later gets the latest values at once on subscribing, not with the next reading.
    const late = await wsClient(h.url, { cookie: viewer.cookie });
    await late.next((f) => f.type === 'hello', 'hello');
    late.ws.send(JSON.stringify({ type: 'subscribe', channels: ['readings', 'derived'] }));
    expect((await late.next((f) => f.type === 'readings', 'readings snapshot')).readings).toEqual([reading]);
    expect((await late.next((f) => f.type === 'derived', 'derived snapshot')).readings).toEqual([derived]);
    sub.ws.close();
    other.ws.close();
    late.ws.close();
  });

  it('answers a malformed client message with an error frame and keeps the connection', async () => {
    const c = await wsClient(h.url, { cookie: viewer.cookie });
    c.ws.send('{"type":"subscribe","channels":["nope"]}');
    expect((await c.next((f) => f.type === 'error', 'error frame')).error).toBe('bad_request');
    c.ws.send(JSON.stringify({ type: 'subscribe', channels: ['gateways'] }));
    await c.next((f) => f.type === 'subscribed', 'subscribed after error');
    c.ws.close();
  });
});

describe('gateway tracking', () => {
  it('tracks online status and health, pushes changes to WS, and sees offline from the retained last will', async () => {
    const c = await wsClient(h.url, { cookie: viewer.cookie });
    c.ws.send(JSON.stringify({ type: 'subscribe', channels: ['gateways'] }));
    await c.next((f) => f.type === 'subscribed', 'subscribed');

    const now = Date.now();
    await mq.publishAsync(topics.status('gw-an-my'), JSON.stringify({ gateway: 'gw-an-my', state: 'online', ts: now, version: '1.2.3' }), {
      qos: 1,
      retain: true,
    });
    await mq.publishAsync(topics.health('gw-an-my'), JSON.stringify(health('gw-an-my', now)), { qos: 1 });
    const pushed = await c.next(
      (f) => f.type === 'gateway' && (f.gateway as { health: unknown }).health !== null,
      'gateway frame with health',
    );
    expect((pushed.gateway as { id: string; state: string }).state).toBe('online');

    const one = await (await api(h.url, viewer, 'GET', '/api/gateways/gw-an-my')).json();
    expect(one).toMatchObject({ id: 'gw-an-my', ward: 'an-my', state: 'online', health: { version: '1.2.3', outbox: { depth: 4 } } });
    expect(one.lastSeen).toBeGreaterThan(0);

    // Device page: registry entry, the gateway's health for it, latest null (nothing stored yet).
    const dev = await (await api(h.url, viewer, 'GET', '/api/devices/an-my-air-1')).json();
    expect(dev.device.kind).toBe('air_station');
    expect(dev.health).toMatchObject({ device: 'an-my-air-1', timeouts: 2, crcErrors: 1 });
    expect(dev.latest).toBeNull();

    // A gateway that lost its connection: the broker publishes its last will (retained offline status).
    const gw = await (
      await import('mqtt')
    ).default.connectAsync(h.mqttUrl, {
      clientId: 'gw-an-phu',
      will: {
        topic: topics.status('gw-an-phu'),
        payload: Buffer.from(JSON.stringify({ gateway: 'gw-an-phu', state: 'offline', ts: now + 1, reason: 'lwt' })),
        qos: 1,
        retain: true,
      },
      keepalive: 1,
    });
    await gw.publishAsync(topics.status('gw-an-phu'), JSON.stringify({ gateway: 'gw-an-phu', state: 'online', ts: now }), {
      qos: 1,
      retain: true,
    });
    await waitFor(async () => (await (await api(h.url, viewer, 'GET', '/api/gateways/gw-an-phu')).json()).state === 'online', {
      what: 'gw-an-phu online',
    });
    gw.stream.destroy(); // abrupt loss, so the will fires
    await waitFor(async () => (await (await api(h.url, viewer, 'GET', '/api/gateways/gw-an-phu')).json()).state === 'offline', {
      what: 'gw-an-phu offline via last will',
      timeoutMs: 20_000,
    });
    gw.end(true);

    const list = (await (await api(h.url, viewer, 'GET', '/api/gateways')).json()).gateways as Array<{ id: string; state: string }>;
    expect(list.length).toBeGreaterThanOrEqual(h.city.gateways.length);
    expect(list.find((g) => g.id === 'gw-an-son')?.state).toBe('unknown');
    c.ws.close();
  });

  it('remembers gateway state across a dashboard restart', async () => {
    await h.restart();
    viewer = await login(h.url, 'viewer');
    tech = await login(h.url, 'technician');
    const one = await (await api(h.url, viewer, 'GET', '/api/gateways/gw-an-my')).json();
    expect(one.state).toBe('online');
    expect(one.health?.configHash).toBe('abc');
    expect((await (await api(h.url, viewer, 'GET', '/api/gateways/gw-an-phu')).json()).state).toBe('offline');
  });

  it('answers 404 for an unknown gateway', async () => {
    expect((await api(h.url, viewer, 'GET', '/api/gateways/gw-nowhere')).status).toBe(404);
  });
});

describe('commands', () => {
  it('publishes the command with a correlation id at QoS 1, records the result, and audits it', async () => {
    const gw = await mqttClient(h.mqttUrl);
    await gw.subscribeAsync(topics.command('gw-an-my'), { qos: 1 });
    const seen: Array<{ id: string; type: string }> = [];
    gw.on('message', (topic, payload, packet) => {
      if (topic !== topics.command('gw-an-my')) return;
      expect(packet.qos).toBe(1);
      const cmd = JSON.parse(payload.toString()) as { id: string; type: string };
      seen.push(cmd);
      void gw.publishAsync(
        topics.commandResult('gw-an-my'),
        JSON.stringify({ id: cmd.id, gateway: 'gw-an-my', ok: true, ts: Date.now(), data: { intervalMs: 10000 } }),
        { qos: 1 },
      );
    });

    const res = await api(h.url, tech, 'POST', '/api/gateways/gw-an-my/commands', {
      type: 'set_poll_interval',
      device: 'an-my-air-1',
      intervalMs: 10000,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const done = await waitFor(
      async () => {
        const c = await (await api(h.url, tech, 'GET', `/api/commands/${id}`)).json();
        return c.result ? c : null;
      },
      { what: 'command result' },
    );
    expect(done).toMatchObject({
      id,
      gateway: 'gw-an-my',
      command: { id, type: 'set_poll_interval', device: 'an-my-air-1', intervalMs: 10000 },
      result: { id, ok: true, data: { intervalMs: 10000 } },
    });
    expect(seen).toEqual([{ id, type: 'set_poll_interval', device: 'an-my-air-1', intervalMs: 10000 }]);

    const admin = await login(h.url, 'admin');
    const { entries } = await (await api(h.url, admin, 'GET', '/api/audit')).json();
    expect(entries).toContainEqual(
      expect.objectContaining({ user: 'technician', action: 'gateway.command', detail: expect.objectContaining({ gateway: 'gw-an-my' }) }),
    );
    await gw.endAsync();
  });

  it('rejects an invalid command with 400 and an unknown gateway with 404, publishing nothing', async () => {
    const bad = await api(h.url, tech, 'POST', '/api/gateways/gw-an-my/commands', {
      type: 'set_poll_interval',
      device: 'an-my-air-1',
      intervalMs: 5,
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toBe('bad_request');
    expect((await api(h.url, tech, 'POST', '/api/gateways/gw-nowhere/commands', { type: 'read_now' })).status).toBe(404);
    expect((await api(h.url, tech, 'GET', '/api/commands/nope')).status).toBe(404);
  });
});

describe('commands tell the truth', () => {
  it('a command nobody answers is pending, then timed out after the stated time; a late answer still replaces it', async () => {
    const quick = await startHarness({ config: { commands: { timeoutMs: 1500 } } });
    try {
      const technician = await login(quick.url, 'technician');
      const sent = await api(quick.url, technician, 'POST', '/api/gateways/gw-an-my/commands', { type: 'read_now' });
      expect(sent.status).toBe(202);
      const { id, timeoutMs } = (await sent.json()) as { id: string; timeoutMs: number };
      expect(timeoutMs).toBe(1500);
      const look = async () =>
        (await (await api(quick.url, technician, 'GET', `/api/commands/${id}`)).json()) as {
          status: string;
          timeoutMs: number;
          result: unknown;
        };
      expect(await look()).toMatchObject({ status: 'pending', timeoutMs: 1500, result: null });
      await waitFor(async () => ((await look()).status === 'timeout' ? true : null), { what: 'timeout status' });
      // The gateway comes back and answers late, naming the device that did not answer.
      const gw = await mqttClient(quick.mqttUrl);
      await gw.publishAsync(
        topics.commandResult('gw-an-my'),
        JSON.stringify({
          id,
          gateway: 'gw-an-my',
          ok: false,
          ts: Date.now(),
          code: 'device_no_answer',
          error: 'no answer from an-my-air-1 (timeout)',
          data: { read: [], failed: [{ device: 'an-my-air-1', error: 'timeout' }] },
        }),
        { qos: 1 },
      );
      await waitFor(async () => ((await look()).status === 'failed' ? true : null), { what: 'failed status' });
      expect((await look()).result).toMatchObject({ ok: false, code: 'device_no_answer' });
      const detail = (await (await api(quick.url, technician, 'GET', '/api/gateways/gw-an-my')).json()) as {
        commands: Array<{ id: string; status: string }>;
      };
      expect(detail.commands.find((c) => c.id === id)?.status).toBe('failed');
      await gw.endAsync();
    } finally {
      await quick.close();
    }
  });
});
