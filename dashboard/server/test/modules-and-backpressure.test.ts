import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { z } from 'zod';
import { noAnswer, topics } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { migrate, type DashboardModule, type ModuleContext } from '../src/index';
import { api, login, METRICS_TOKEN, mqttClient, startHarness, wsClient, type Harness } from './helpers';

/** A module shaped like the alarms module: own table, MQTT subscription, routes, OpenAPI, overview counts. */
function probeModule() {
  const received: string[] = [];
  let ctx: ModuleContext | undefined;
  const module: DashboardModule = {
    name: 'probe',
    subscriptions: ['city/v1/alarm/#'],
    start(c) {
      ctx = c;
      migrate(c.db, [{ name: 'probe/001', sql: 'CREATE TABLE probe_events (topic TEXT NOT NULL)' }]);
    },
    async onMqttMessage(topic) {
      ctx!.db.prepare('INSERT INTO probe_events (topic) VALUES (?)').run(topic);
      received.push(topic);
      ctx!.broadcast('alarms', { type: 'alarm', alarm: { id: topic } });
    },
    routes: (c) => [
      {
        method: 'get',
        path: '/probe',
        access: 'operator',
        wards: 'city',
        summary: 'probe count',
        request: {},
        answer: z.object({ count: z.number() }),
        handler: () => ({ count: (c.db.prepare('SELECT COUNT(*) AS n FROM probe_events').get() as { n: number }).n }),
      },
      {
        method: 'post',
        path: '/probe',
        access: 'operator',
        wards: 'city',
        summary: 'poke',
        request: {},
        answer: noAnswer,
        handler(_req, res) {
          c.audit((res.locals.session as { user: { username: string } }).user.username, 'probe.poke', {});
          res.status(204).end();
        },
      },
    ],
    overviewAlarmCounts: (ward) => ({ critical: ward === 'an-my' ? 2 : 0, major: 0, minor: 0, warning: 0 }),
  };
  return { module, received };
}

let h: Harness;
let mq: MqttClient;
const probe = probeModule();

beforeAll(async () => {
  h = await startHarness({
    modules: [probe.module],
    config: { ws: { pingIntervalMs: 10_000, maxBufferedBytes: 64 * 1024 }, metrics: { host: '127.0.0.1', token: METRICS_TOKEN } },
  });
  mq = await mqttClient(h.mqttUrl);
});
afterAll(async () => {
  await mq?.endAsync();
  await h?.close();
});

describe('dashboard modules', () => {
  it('get their MQTT messages, their routes behind roles and CSRF, their OpenAPI paths, and WS broadcast', async () => {
    const viewer = await login(h.url, 'viewer');
    const operator = await login(h.url, 'operator');
    const c = await wsClient(h.url, { cookie: viewer.cookie });
    c.ws.send(JSON.stringify({ type: 'subscribe', channels: ['alarms'] }));
    await c.next((f) => f.type === 'subscribed', 'subscribed');

    await mq.publishAsync(topics.alarmEvent('noise-night', 'an-my-noise-1'), JSON.stringify({ any: 'thing' }), { qos: 1 });
    await waitFor(() => probe.received.length === 1, { what: 'module got the alarm event' });
    expect((await c.next((f) => f.type === 'alarm', 'alarm frame')).alarm).toEqual({
      id: topics.alarmEvent('noise-night', 'an-my-noise-1'),
    });

    expect((await api(h.url, viewer, 'GET', '/api/probe')).status).toBe(403);
    expect(await (await api(h.url, operator, 'GET', '/api/probe')).json()).toEqual({ count: 1 });
    expect((await api(h.url, { cookie: operator.cookie, csrf: 'x' }, 'POST', '/api/probe')).status).toBe(403);
    expect((await api(h.url, operator, 'POST', '/api/probe')).status).toBe(204);

    const doc = await (await api(h.url, viewer, 'GET', '/api/openapi.json')).json();
    expect(Object.keys(doc.paths['/api/probe'])).toEqual(['get', 'post']);
    const overview = await (await api(h.url, viewer, 'GET', '/api/overview')).json();
    expect(overview.wards.find((w: { ward: string }) => w.ward === 'an-my').alarms.critical).toBe(2);
    c.ws.close();
  });
});

describe('WebSocket backpressure', () => {
  it('drops live readings for a client that does not read, counts them, and keeps serving others', async () => {
    const viewer = await login(h.url, 'viewer');
    const slow = await wsClient(h.url, { cookie: viewer.cookie });
    const fast = await wsClient(h.url, { cookie: viewer.cookie });
    for (const c of [slow, fast]) c.ws.send(JSON.stringify({ type: 'subscribe', channels: ['readings'] }));
    await slow.next((f) => f.type === 'subscribed', 'slow subscribed');
    await fast.next((f) => f.type === 'subscribed', 'fast subscribed');
    // Stop reading on the slow client: the server's socket buffer fills up.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const big = Array.from({ length: 600 }, (_, i) => ({
      kind: 'noise_meter',
      device: 'an-my-noise-1',
      gateway: 'gw-an-my',
      ward: 'an-my',
      ts: 1_760_000_000_000 + i,
      seq: i,
      values: { laeq: 50 + (i % 30) / 10 },
    }));
    const N = 100;
    for (let i = 0; i < N; i++) await mq.publishAsync(topics.liveReadings(), JSON.stringify({ readings: big }), { qos: 1 });
    await waitFor(() => fast.frames.filter((f) => f.type === 'readings').length === N, {
      what: `fast client got every frame (has ${fast.frames.filter((f) => f.type === 'readings').length})`,
      timeoutMs: 30_000,
    });
    const dropped = await waitFor(
      async () => {
        const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
        const m = /dashboard_ws_frames_dropped_total\{[^}]*channel="readings"[^}]*\} (\d+)/.exec(text);
        return m && Number(m[1]) > 0 ? Number(m[1]) : null;
      },
      { what: 'dropped frames counted' },
    );
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(N);
    slow.ws.terminate();
    fast.ws.close();
  });
});
