import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { rulesAnswerSchema, topics } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { startDashboard, type DashboardModule } from '../src/index';
import { api, login, mqttClient, startHarness, type Harness } from './helpers';

let h: Harness;
let mq: MqttClient;
const retained: Array<{ version: number }> = [];

beforeAll(async () => {
  h = await startHarness();
  mq = await mqttClient(h.mqttUrl);
  mq.on(
    'message',
    (topic, payload) => topic === topics.configRules() && retained.push(JSON.parse(payload.toString()) as { version: number }),
  );
  await mq.subscribeAsync(topics.configRules(), { qos: 1 });
});
afterAll(async () => {
  await mq?.endAsync();
  await h?.close();
});

describe('PUT /api/rules (one definition, on the route table)', () => {
  it('validates against the detector schema, versions, audits and publishes retained; stale editors get 409', async () => {
    const admin = await login(h.url, 'admin');
    const operator = await login(h.url, 'operator');
    const rule = { id: 'pm', type: 'threshold', category: 'air', kind: 'pm_sensor', field: 'pm25', op: '>', value: 100 };
    expect((await api(h.url, operator, 'PUT', '/api/rules', { rules: [rule] })).status).toBe(403);
    const bad = await api(h.url, admin, 'PUT', '/api/rules', {
      rules: [{ ...rule, type: 'water_level', severities: ['loud', 'major', 'critical'] }],
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_rules', message: expect.stringMatching(/rules\[0\]\.severities\[0\]/) });
    const before = (await (await api(h.url, admin, 'GET', '/api/rules')).json()).version as number;
    const ok = await api(h.url, admin, 'PUT', '/api/rules', { baseVersion: before, rules: [rule] });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ version: before + 1, rules: [rule], updatedBy: 'admin' });
    await waitFor(() => retained.some((r) => r.version === before + 1), { what: 'the new rule set published retained' });
    expect((await api(h.url, admin, 'PUT', '/api/rules', { baseVersion: before, rules: [] })).status).toBe(409);
    const audit = await (await api(h.url, admin, 'GET', '/api/audit?action=rules.update')).json();
    expect(audit.entries[0]).toMatchObject({ user: 'admin', action: 'rules.update', detail: { version: before + 1, count: 1 } });
  });

  it('validates without storing', async () => {
    const admin = await login(h.url, 'admin');
    const ok = await api(h.url, admin, 'POST', '/api/rules/validate', {
      rules: [{ id: 'r1', type: 'threshold', category: 'air', kind: 'pm_sensor', field: 'pm25', op: '>', value: 100 }],
    });
    expect(await ok.json()).toEqual({ ok: true, count: 1 });
    const bad = await api(h.url, admin, 'POST', '/api/rules/validate', {
      rules: [{ id: 'r1', type: 'threshold', category: 'air', kind: 'pm_sensor', field: 'pm25', op: '!=', value: 100 }],
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/rules\[0\]\.op/);
  });

  it('is documented once in the OpenAPI document, generated from the route table', async () => {
    const doc = await (await api(h.url, await login(h.url, 'viewer'), 'GET', '/api/openapi.json')).json();
    expect(doc.paths['/api/rules'].put['x-role']).toBe('admin');
    expect(doc.paths['/api/rules/validate'].post['x-role']).toBe('admin');
    expect(doc.paths['/api/audit'].get.parameters.map((p: { name: string }) => p.name)).toEqual([
      'from',
      'to',
      'user',
      'action',
      'q',
      'limit',
      'offset',
    ]);
  });

  it('a module declaring a route the core already has is refused at start, not silently shadowed', async () => {
    const shadow: DashboardModule = {
      name: 'shadow',
      routes: () => [
        {
          method: 'put',
          path: '/rules',
          access: 'admin',
          wards: 'city',
          summary: 'again',
          request: {},
          answer: rulesAnswerSchema,
          handler: () => ({}),
        },
      ],
    };
    await expect(
      startDashboard(
        { ...h.config, http: { ...h.config.http, port: 0 }, stateDb: `${h.dir}/other.db` },
        { store: h.store, city: h.city, modules: [shadow] },
      ),
    ).rejects.toThrow(/PUT \/rules is declared twice/);
  });
});
