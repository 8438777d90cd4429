import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { topics, type StoredReading } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { createAlarmsModule } from '../src/alarms';
import { api, login, mqttClient, startHarness, type Harness, type Session } from './helpers';
import { waterEvent } from './fakes/alarms-context';

/** API tokens for other systems: creation, use, scope, wards, expiry, revocation, rate limit, audit. */
const T0 = Date.UTC(2026, 11, 1, 3, 0, 0);
const DAY = 86_400_000;
let clock = T0;
let h: Harness;
let admin: Session;
let viewer: Session;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${h.url}${path}`, { headers });

async function createToken(body: Record<string, unknown>): Promise<{ id: string; text: string }> {
  const res = await api(h.url, admin, 'POST', '/api/tokens', body);
  expect(res.status).toBe(201);
  const json = (await res.json()) as { token: { id: string }; text: string };
  return { id: json.token.id, text: json.text };
}

beforeAll(async () => {
  h = await startHarness({ now: () => clock });
  const readings: StoredReading[] = [];
  for (const [device, ward, gateway] of [
    ['an-my-noise-1', 'an-my', 'gw-an-my'],
    ['an-phu-noise-1', 'an-phu', 'gw-an-phu'],
  ] as const) {
    for (let i = 0; i < 10; i++)
      readings.push({ kind: 'noise_meter', device, gateway, ward, ts: T0 - 60 * 60_000 + i * 60_000, seq: i, values: { laeq: 50 + i } });
  }
  await h.store.writeBatch(readings);
  admin = await login(h.url, 'admin');
  viewer = await login(h.url, 'viewer');
});
afterAll(async () => {
  await h?.close();
});

describe('API tokens', () => {
  it('are created by admins only, shown once, and stored only as a hash', async () => {
    expect((await api(h.url, viewer, 'POST', '/api/tokens', { name: 'x', scopes: ['read:readings'] })).status).toBe(403);
    expect((await api(h.url, admin, 'POST', '/api/tokens', { name: 'x', scopes: ['write:everything'] })).status).toBe(400);
    expect((await api(h.url, admin, 'POST', '/api/tokens', { name: 'x', scopes: ['read:readings'], wards: ['atlantis'] })).status).toBe(
      400,
    );
    const { id, text } = await createToken({ name: 'provincial IOC', scopes: ['read:readings'] });
    expect(text).toMatch(/^tkc_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    // The secret is base64url and may itself contain '_': take everything after the id.
    const secret = text.slice('tkc_'.length + 13);
    const list = (await (await api(h.url, admin, 'GET', '/api/tokens')).json()) as { tokens: Array<Record<string, unknown>> };
    const listed = list.tokens.find((t) => t.id === id)!;
    expect(listed).toMatchObject({ name: 'provincial IOC', scopes: ['read:readings'], wards: [], createdBy: 'admin', revokedAt: null });
    expect(JSON.stringify(list)).not.toContain(secret);
    const db = new Database(h.config.stateDb as string, { readonly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM api_tokens').all());
    db.close();
    expect(dump).not.toContain(secret);
  });

  it('read readings with a bearer token and nothing else: no writes, no admin routes', async () => {
    const { text } = await createToken({ name: 'researcher', scopes: ['read:readings'] });
    const history = await get(`/api/history?kind=noise_meter&fields=laeq&from=${T0 - 2 * 3_600_000}&to=${T0}`, bearer(text));
    expect(history.status).toBe(200);
    expect(((await history.json()) as { series: unknown[] }).series).toHaveLength(2);
    expect((await get('/api/latest?kind=noise_meter', bearer(text))).status).toBe(200);
    expect((await get('/api/export/ngsi-ld', bearer(text))).status).toBe(200);
    // Routes without a token scope ignore the token: no session, no access.
    expect((await get('/api/users', bearer(text))).status).toBe(401);
    expect((await get('/api/tokens', bearer(text))).status).toBe(401);
    const write = await fetch(`${h.url}/api/gateways/gw-an-my/commands`, {
      method: 'POST',
      headers: { ...bearer(text), 'content-type': 'application/json' },
      body: '{"command":"read_now"}',
    });
    expect(write.status).toBe(401);
  });

  it('of another scope are refused with 403', async () => {
    const { text } = await createToken({ name: 'alarm mirror', scopes: ['read:alarms'] });
    const res = await get(`/api/latest`, bearer(text));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(/read:readings/);
  });

  it('limited to a ward see only that ward, even when naming other devices', async () => {
    const { text } = await createToken({ name: 'An Mỹ ward office', scopes: ['read:readings'], wards: ['an-my'] });
    const latest = (await (await get('/api/latest?kind=noise_meter', bearer(text))).json()) as { readings: StoredReading[] };
    expect(latest.readings.map((r) => r.ward)).toEqual(['an-my']);
    const named = (await (
      await get(
        `/api/history?kind=noise_meter&fields=laeq&from=${T0 - 2 * 3_600_000}&to=${T0}&devices=an-phu-noise-1,an-my-noise-1`,
        bearer(text),
      )
    ).json()) as { series: Array<{ device: string }> };
    expect(named.series.map((s) => s.device)).toEqual(['an-my-noise-1']);
    const city = (await (await get('/api/city', bearer(text))).json()) as {
      wards: Array<{ id: string }>;
      devices: Array<{ ward: string }>;
    };
    expect(city.wards.map((w) => w.id)).toEqual(['an-my']);
    expect(new Set(city.devices.map((d) => d.ward))).toEqual(new Set(['an-my']));
    const ngsi = (await (await get('/api/export/ngsi-ld', bearer(text))).json()) as Array<{ areaServed: { value: string } }>;
    expect(ngsi.length).toBeGreaterThan(0);
    expect(new Set(ngsi.map((e) => e.areaServed.value))).toEqual(new Set(['an-my']));
    const q = new URLSearchParams({ db: 'tamky', q: 'SHOW TAG VALUES WITH KEY = "ward"' });
    const influx = (await (await get(`/query?${q}`, bearer(text))).json()) as { results: Array<{ series: Array<{ values: string[][] }> }> };
    expect(influx.results[0]!.series.flatMap((s) => s.values.map((v) => v[1]))).toEqual(['an-my']);
  });

  it('stop working when revoked, at once', async () => {
    const { id, text } = await createToken({ name: 'to revoke', scopes: ['read:readings'] });
    expect((await get('/api/latest', bearer(text))).status).toBe(200);
    expect((await api(h.url, admin, 'DELETE', `/api/tokens/${id}`)).status).toBe(200);
    const res = await get('/api/latest', bearer(text));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/revoked/);
  });

  it('expire', async () => {
    const { text } = await createToken({ name: 'short', scopes: ['read:readings'], expiresInDays: 1 });
    expect((await get('/api/latest', bearer(text))).status).toBe(200);
    clock += DAY + 1;
    try {
      const res = await get('/api/latest', bearer(text));
      expect(res.status).toBe(401);
      expect(((await res.json()) as { message: string }).message).toMatch(/expired/);
    } finally {
      clock -= DAY + 1;
    }
  });

  it('are rate limited per token', async () => {
    const { text } = await createToken({ name: 'chatty', scopes: ['read:readings'], rateLimitPerMinute: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await get('/api/latest', bearer(text))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    // Another token is not affected.
    const { text: other } = await createToken({ name: 'quiet', scopes: ['read:readings'] });
    expect((await get('/api/latest', bearer(other))).status).toBe(200);
  });

  it('leave an audit trail: creation, use, refusal, revocation', async () => {
    const { id, text } = await createToken({ name: 'audited', scopes: ['read:readings'] });
    await get('/api/latest', bearer(text));
    await get('/api/latest', bearer('tkc_aaaaaaaaaaaa_' + 'b'.repeat(43)));
    await api(h.url, admin, 'DELETE', `/api/tokens/${id}`);
    const { entries } = (await (await api(h.url, admin, 'GET', '/api/audit?limit=500')).json()) as {
      entries: Array<{ user: string; action: string; detail: Record<string, unknown> }>;
    };
    expect(entries.some((e) => e.action === 'token.create' && e.detail.id === id && e.user === 'admin')).toBe(true);
    expect(entries.some((e) => e.action === 'token.use' && e.user === `token:${id}`)).toBe(true);
    expect(entries.some((e) => e.action === 'token.denied' && e.detail.reason === 'unknown')).toBe(true);
    expect(entries.some((e) => e.action === 'token.revoke' && e.detail.id === id)).toBe(true);
  });

  it('guessing is slowed: an address with many invalid tokens gets 429', async () => {
    const statuses = new Set<number>();
    for (let i = 0; i < 25; i++)
      statuses.add((await get('/api/latest', bearer(`tkc_${String(i).padStart(12, '0')}_${'x'.repeat(43)}`))).status);
    expect(statuses).toEqual(new Set([401, 429]));
  });
});

describe('API tokens on alarms', () => {
  let ha: Harness;
  afterAll(async () => {
    await ha?.close();
  });

  it('read:alarms reads the alarm list limited to the token wards; read:readings does not', async () => {
    ha = await startHarness({ modules: [createAlarmsModule({ tickMs: 3_600_000 })] });
    const adminA = await login(ha.url, 'admin');
    const mk = async (body: Record<string, unknown>) =>
      ((await (await api(ha.url, adminA, 'POST', '/api/tokens', body)).json()) as { text: string }).text;
    const anMyAlarms = await mk({ name: 'An Mỹ alarm mirror', scopes: ['read:alarms'], wards: ['an-my'] });
    const allAlarms = await mk({ name: 'city alarm mirror', scopes: ['read:alarms'] });
    const readingsOnly = await mk({ name: 'readings only', scopes: ['read:readings'] });
    const client = await mqttClient(ha.mqttUrl);
    const now = Date.now();
    await client.publishAsync(topics.alarmEvent('flood-level', 'an-phu-water-1'), JSON.stringify(waterEvent({ ts: now, since: now })), {
      qos: 1,
    });
    await client.publishAsync(
      topics.alarmEvent('noise-limit', 'an-my-noise-1'),
      JSON.stringify(
        waterEvent({
          ruleId: 'noise-limit',
          sourceId: 'an-my-noise-1',
          ward: 'an-my',
          device: 'an-my-noise-1',
          gateway: 'gw-an-my',
          kind: 'noise_meter',
          category: 'noise',
          severity: 'minor',
          ts: now,
          since: now,
        }),
      ),
      { qos: 1 },
    );
    await client.endAsync();
    const list = (t: string) => fetch(`${ha.url}/api/alarms`, { headers: bearer(t) });
    await waitFor(async () => ((await (await list(allAlarms)).json()) as { alarms: unknown[] }).alarms.length === 2, {
      what: 'both alarms raised',
    });
    const wards = ((await (await list(anMyAlarms)).json()) as { alarms: Array<{ ward: string }> }).alarms.map((a) => a.ward);
    expect(wards).toEqual(['an-my']);
    expect((await list(readingsOnly)).status).toBe(403);
    // The count too, limited to the token's wards.
    const count = async (t: string) => (await (await fetch(`${ha.url}/api/alarms/count`, { headers: bearer(t) })).json()) as unknown;
    expect(await count(allAlarms)).toEqual({ unacknowledged: 2, open: 2 });
    expect(await count(anMyAlarms)).toEqual({ unacknowledged: 1, open: 1 });
    expect((await fetch(`${ha.url}/api/alarms/count`, { headers: bearer(readingsOnly) })).status).toBe(403);
    // Nothing but the list and the count: one alarm's detail (with its notifications) and the desk's lines need a person's session.
    expect((await fetch(`${ha.url}/api/alarms/1`, { headers: bearer(allAlarms) })).status).toBe(401);
    expect((await fetch(`${ha.url}/api/alarms/rows`, { headers: bearer(allAlarms) })).status).toBe(401);
  });
});
