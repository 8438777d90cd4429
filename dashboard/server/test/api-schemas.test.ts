import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { z } from 'zod';
import { noAnswer, topics, type StoredReading } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { createAlarmsModule } from '../src/alarms';
import { openApiPath, type RouteSpec } from '../src/http/route-table';
import { api, login, mqttClient, startHarness, type Harness, type Session } from './helpers';
import { waterEvent } from './fakes/alarms-context';

/**
 * The route table is the API's one definition: every route declares the schemas of what it reads and answers
 * (protocol/src/api/), the OpenAPI document is generated from them, and what the server really answers
 * parses with the schema the route declares (the web app's types are inferred from the same schemas).
 */
let h: Harness;
let admin: Session;
let mqtt: MqttClient;
const NOW = Date.now();

beforeAll(async () => {
  h = await startHarness({ modules: [createAlarmsModule({ tickMs: 100 })] });
  admin = await login(h.url, 'admin');
  const reading = (ts: number, level: number): StoredReading => ({
    kind: 'water_level',
    device: 'an-phu-water-1',
    gateway: 'gw-an-phu',
    ward: 'an-phu',
    ts,
    seq: ts % 100_000,
    values: { level, distance: 3 },
  });
  await h.store.writeBatch([reading(NOW - 120_000, 1.2), reading(NOW - 60_000, 1.3)]);
  mqtt = await mqttClient(h.mqttUrl);
  const event = waterEvent({ ts: NOW - 30_000, since: NOW - 60_000 });
  await mqtt.publishAsync(topics.alarmEvent(event.ruleId, event.sourceId), JSON.stringify(event), { qos: 1 });
  await waitFor(async () => ((await (await api(h.url, admin, 'GET', '/api/alarms')).json()).alarms as unknown[]).length > 0, {
    what: 'the alarm in the desk',
  });
});
afterAll(async () => {
  await mqtt?.endAsync();
  await h?.close();
});

const routeOf = (method: RouteSpec['method'], path: string): RouteSpec => {
  const r = h.routes.find((x) => x.method === method && x.path === path);
  if (!r) throw new Error(`no route ${method} ${path} in the table`);
  return r;
};

/** Calls the route and parses the answer with the schema the route declares. */
async function answerOf(method: RouteSpec['method'], path: string, url = path, body?: unknown) {
  const res = await api(h.url, admin, method.toUpperCase(), `/api${url}`, body);
  expect(res.status, `${method} ${url}`).toBeLessThan(300);
  const json: unknown = await res.json();
  const parsed = routeOf(method, path).answer.safeParse(json);
  expect(parsed.success ? [] : parsed.error.issues, `${method} ${url} answers as its schema says`).toEqual([]);
  return json as Record<string, unknown>;
}

describe('API schemas', () => {
  it('every route of the table declares its request and answer schemas and is in the OpenAPI document', async () => {
    const doc = (await (await api(h.url, admin, 'GET', '/api/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ name: string; in: string }>;
            requestBody?: unknown;
            responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
          }
        >
      >;
    };
    // The alarms module's routes and provider callbacks are part of the table too.
    expect(h.routes.length).toBeGreaterThan(40);
    expect(h.routes.some((r) => r.path === '/alarms/:id/ack')).toBe(true);
    for (const r of h.routes) {
      const where = `${r.method.toUpperCase()} ${r.path}`;
      expect(r.request, where).toBeTypeOf('object');
      expect(r.answer, where).toBeInstanceOf(z.ZodType);
      const op = doc.paths[openApiPath(r.path)]?.[r.method];
      expect(op, `${where} in the OpenAPI document`).toBeDefined();
      const queryNames = (op!.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      expect(queryNames, where).toEqual(Object.keys(r.request.query?.shape ?? {}));
      expect(op!.requestBody !== undefined, `${where} documents its body`).toBe(r.request.body !== undefined);
      if (r.answer === noAnswer) expect(Object.keys(op!.responses), where).toContain('204');
      else expect(op!.responses['200']!.content![r.produces ?? 'application/json']!.schema, where).toBeTypeOf('object');
    }
    // Bodies are documented with their fields, not as an empty object.
    const login = doc.paths['/api/auth/login']!.post!.requestBody as { content: Record<string, { schema: { properties: object } }> };
    expect(Object.keys(login.content['application/json']!.schema.properties)).toEqual(['username', 'password']);
  });

  it('real answers of the server parse with the schema their route declares', async () => {
    await answerOf('get', '/auth/me');
    await answerOf('get', '/city');
    const latest = await answerOf('get', '/latest');
    expect((latest.readings as unknown[]).length).toBeGreaterThan(0);
    await answerOf('get', '/history', `/history?kind=water_level&fields=level&from=${NOW - 3_600_000}&to=${NOW}`);
    await answerOf('get', '/overview');
    await answerOf('get', '/limits');
    await answerOf('get', '/gateways');
    await answerOf('get', '/gateways/:id', '/gateways/gw-an-phu');
    await answerOf('get', '/devices/:id', '/devices/an-phu-water-1');
    await answerOf('get', '/dead-letters');
    await answerOf('get', '/users');
    await answerOf('get', '/rules');
    await answerOf('get', '/audit');
    await answerOf('get', '/admin/registry');
    await answerOf('get', '/admin/recipients');
    await answerOf('post', '/tokens', '/tokens', { name: 'grafana', scopes: ['read:readings'] });
    await answerOf('get', '/tokens');
    const { alarms } = (await answerOf('get', '/alarms')) as { alarms: Array<{ id: string }> };
    const id = alarms[0]!.id;
    await answerOf('get', '/alarms/:id', `/alarms/${id}`);
    await answerOf('post', '/alarms/:id/ack', `/alarms/${id}/ack`, { comment: 'on my way' });
    await answerOf('get', '/alarms/assignees');
    await answerOf('get', '/alarms/health', `/alarms/health?from=${NOW - 86_400_000}&to=${NOW + 60_000}`);
    await answerOf('post', '/alarms/shelves', '/alarms/shelves', {
      targetType: 'device',
      targetId: 'an-phu-water-1',
      reason: 'cleaning the sensor',
      minutes: 30,
    });
    await answerOf('get', '/alarms/shelves');
  });

  it('a schema is strict enough to notice an answer that left out what the web app reads', async () => {
    const me = await answerOf('get', '/auth/me');
    const { csrfToken: _dropped, ...withoutToken } = me;
    expect(routeOf('get', '/auth/me').answer.safeParse(withoutToken).success).toBe(false);
  });
});
