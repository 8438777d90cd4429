import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { cityModelSchema, topics, type AlarmEvent, type CityModel } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { createLogger } from '@tamky/service-kit';
import { startDashboard } from '../src/index';
import { createAlarmsModule, type AlarmsModule } from '../src/alarms';
import { parseNotifyPolicy } from '../src/notify';
import { createNotifyDirectory } from '../src/notify/directory';
import { CORE_MIGRATIONS, migrate, openStateDb } from '../src/state-db';
import { api, login, mqttClient, startHarness, wsClient, type Harness, type Session } from './helpers';
import { startFakeEsms, type FakeEsms } from './fakes/esms';

/**
 * Admin editing of the device registry and the notification recipients against the real server: mosquitto
 * (the retained registry topic ingest subscribes to), the state DB in a temp dir, the alarms module
 * notifying through a local eSMS peer.
 */
let h: Harness;
let esms: FakeEsms;
let alarms: AlarmsModule;
let admin: Session;
let observer: MqttClient;
const registryMessages: CityModel[] = [];

const policy = (esmsUrl: string) =>
  parseNotifyPolicy({
    recipients: [
      { id: 'tech-an-phu', name: 'Kỹ thuật An Phú', phone: '0905111222', channels: ['sms'] },
      { id: 'supervisor', name: 'Trưởng ca', phone: '0905999888', channels: ['sms'] },
    ],
    routes: [{ id: 'flood', match: { categories: ['water'] }, steps: [{ to: ['tech-an-phu'] }] }],
    grouping: { windowS: 0 },
    providers: { esms: { url: esmsUrl, apiKey: 'esms-key', secretKey: 'esms-secret', brandname: 'TAMKY-IOC' } },
  });

beforeAll(async () => {
  esms = await startFakeEsms();
  alarms = createAlarmsModule({ notify: policy(esms.url), tickMs: 100 });
  h = await startHarness({ modules: [alarms] });
  admin = await login(h.url, 'admin');
  observer = await mqttClient(h.mqttUrl);
  observer.on('message', (topic, payload) => {
    if (topic === topics.configRegistry() && payload.length) registryMessages.push(JSON.parse(payload.toString()) as CityModel);
  });
  await observer.subscribeAsync(topics.configRegistry(), { qos: 1 });
});
afterAll(async () => {
  await observer?.endAsync();
  await h?.close();
  await esms?.close();
});

const getRegistry = async () =>
  (await (await api(h.url, admin, 'GET', '/api/admin/registry')).json()) as { version: number; city: CityModel; updatedBy: string };

describe('device registry', () => {
  it('is seeded from the city file as version 1 and published retained as the protocol CityModel', async () => {
    const reg = await getRegistry();
    expect(reg.version).toBe(1);
    expect(reg.updatedBy).toBe('system');
    expect(reg.city.devices.length).toBe(h.city.devices.length);
    await waitFor(() => registryMessages.length >= 1, { what: 'retained registry' });
    // The contract with ingest: the payload parses with the protocol schema unchanged.
    expect(cityModelSchema.parse(registryMessages.at(-1))).toEqual(reg.city);
  });

  it('moves a device to another ward and gateway: new version, published retained, audited, used by the server itself', async () => {
    const { version, city } = await getRegistry();
    const device = city.devices.find((d) => d.id === 'an-phu-water-1')!;
    const target = city.gateways.find((g) => g.ward !== device.ward)!;
    // An open page (a wall screen) is told to refetch the city.
    const page = await wsClient(h.url, { cookie: (await login(h.url, 'viewer')).cookie });
    page.ws.send(JSON.stringify({ type: 'subscribe', channels: ['gateways'] }));
    await page.next((f) => f.type === 'subscribed', 'subscribed');
    const res = await api(h.url, admin, 'PUT', `/api/admin/registry/devices/${device.id}`, {
      baseVersion: version,
      device: { ...device, ward: target.ward, gateway: target.id },
    });
    expect(res.status).toBe(200);
    const next = (await res.json()) as { version: number; city: CityModel };
    expect(next.version).toBe(version + 1);

    await waitFor(() => registryMessages.some((m) => m.devices.find((d) => d.id === device.id)?.gateway === target.id), {
      what: 'registry with the moved device',
    });
    // A newcomer (ingest starting later) gets the new version retained.
    const late = await mqttClient(h.mqttUrl);
    const retained = await new Promise<CityModel>((resolve) => {
      late.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as CityModel));
      void late.subscribeAsync(topics.configRegistry(), { qos: 1 });
    });
    await late.endAsync();
    expect(retained.devices.find((d) => d.id === device.id)).toMatchObject({ ward: target.ward, gateway: target.id });

    expect((await page.next((f) => f.type === 'registry', 'registry frame')).version).toBe(next.version);
    page.ws.close();
    const viewer = await login(h.url, 'viewer');
    const publicCity = (await (await api(h.url, viewer, 'GET', '/api/city')).json()) as CityModel;
    expect(publicCity.devices.find((d) => d.id === device.id)?.ward).toBe(target.ward);
    const overview = (await (await api(h.url, viewer, 'GET', '/api/overview')).json()) as { wards: Array<{ id: string }> };
    expect(overview.wards.length).toBe(city.wards.length);

    const audit = (await (await api(h.url, admin, 'GET', '/api/audit?limit=50')).json()) as {
      entries: Array<{ user: string; action: string; detail: Record<string, unknown> }>;
    };
    expect(audit.entries.find((e) => e.action === 'registry.update')).toMatchObject({
      user: 'admin',
      detail: { version: next.version, device: device.id, op: 'change', changed: [device.id] },
    });
  });

  it('adds a gateway and a device, shows the new gateway in /api/gateways, and removes the device again', async () => {
    const { version, city } = await getRegistry();
    const ward = city.wards[0]!.id;
    const withGateway = { ...city, gateways: [...city.gateways, { id: 'gw-new-1', ward, name: 'Gateway mới' }] };
    const put = await api(h.url, admin, 'PUT', '/api/admin/registry', { baseVersion: version, city: withGateway });
    expect(put.status).toBe(200);
    const v2 = ((await put.json()) as { version: number }).version;
    const gws = (await (await api(h.url, admin, 'GET', '/api/gateways')).json()) as {
      gateways: Array<{ id: string; name: string; ward: string }>;
    };
    expect(gws.gateways.find((g) => g.id === 'gw-new-1')).toMatchObject({ name: 'Gateway mới', ward });

    const device = { kind: 'noise_meter', name: 'Đo ồn mới', ward, gateway: 'gw-new-1', lat: 15.57, lon: 108.47, zone: 'normal' };
    const add = await api(h.url, admin, 'PUT', '/api/admin/registry/devices/noise-new-1', { baseVersion: v2, device });
    expect(add.status).toBe(200);
    const v3 = ((await add.json()) as { version: number; city: CityModel }).version;
    await waitFor(() => registryMessages.at(-1)?.devices.some((d) => d.id === 'noise-new-1') ?? false, { what: 'published added device' });

    const del = await api(h.url, admin, 'DELETE', `/api/admin/registry/devices/noise-new-1?baseVersion=${v3}`);
    expect(del.status).toBe(200);
    await waitFor(() => registryMessages.at(-1)?.devices.every((d) => d.id !== 'noise-new-1') ?? false, { what: 'published removal' });
    expect((await api(h.url, admin, 'DELETE', '/api/admin/registry/devices/noise-new-1')).status).toBe(404);
  });

  it('refuses unknown wards/gateways and duplicate ids with issues naming the field, and a stale editor with 409', async () => {
    const { version, city } = await getRegistry();
    const device = city.devices[0]!;
    const bad = await api(h.url, admin, 'PUT', `/api/admin/registry/devices/${device.id}`, {
      baseVersion: version,
      device: { ...device, gateway: 'gw-nowhere', ward: 'atlantis' },
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; issues: Array<{ path: string; message: string }> };
    expect(body.error).toBe('invalid_registry');
    expect(body.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'device.gateway' }), expect.objectContaining({ path: 'device.ward' })]),
    );

    const dupGateway = await api(h.url, admin, 'PUT', '/api/admin/registry', {
      baseVersion: version,
      city: { ...city, gateways: [...city.gateways, city.gateways[0]] },
    });
    expect(dupGateway.status).toBe(400);
    expect(((await dupGateway.json()) as { issues: Array<{ path: string }> }).issues[0]!.path).toBe(`gateways.${city.gateways.length}.id`);

    const stale = await api(h.url, admin, 'PUT', `/api/admin/registry/devices/${device.id}`, {
      baseVersion: version - 1,
      device: { ...device, name: 'Tên mới' },
    });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { message: string }).message).toContain(`version ${version}`);
    expect((await getRegistry()).version).toBe(version);
  });

  it('keeps the edited registry across a restart (the DB wins over the file) and publishes that version', async () => {
    const before = await getRegistry();
    registryMessages.length = 0;
    await h.restart();
    admin = await login(h.url, 'admin');
    const after = await getRegistry();
    expect(after.version).toBe(before.version);
    expect(after.city).toEqual(before.city);
    await waitFor(() => registryMessages.length > 0, { what: 'registry published after restart' });
    expect(registryMessages.at(-1)).toEqual(before.city);
  });
});

describe('the city file after the first start', () => {
  it('is the new version while nobody edited the registry in the dashboard; after an edit the dashboard version stays', async () => {
    const stateDb = join(h.dir, 'file-vs-db.db');
    const start = (city: CityModel) =>
      startDashboard(
        {
          ...h.config,
          http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080' },
          mqtt: { url: h.mqttUrl, clientId: `dashboard-file-${Math.random()}` },
          stateDb,
        },
        { store: h.store, city, logger: createLogger('file', { level: 'silent' }) },
      );
    const rename = (city: CityModel, name: string): CityModel => ({
      ...city,
      wards: city.wards.map((w, i) => (i === 0 ? { ...w, name } : w)),
    });
    const read = async (url: string) => {
      const s = await login(url, 'admin');
      return (await (await api(url, s, 'GET', '/api/admin/registry')).json()) as { version: number; city: CityModel; updatedBy: string };
    };

    let d = await start(h.city);
    await d.close();
    d = await start(rename(h.city, 'Phường sửa trong tệp'));
    let reg = await read(d.url);
    expect(reg).toMatchObject({ version: 2, updatedBy: 'system' });
    expect(reg.city.wards[0]!.name).toBe('Phường sửa trong tệp');

    const s = await login(d.url, 'admin');
    expect(
      (await api(d.url, s, 'PUT', '/api/admin/registry', { baseVersion: 2, city: rename(reg.city, 'Phường sửa trên web') })).status,
    ).toBe(200);
    await d.close();
    d = await start(rename(h.city, 'Tệp sửa lần nữa'));
    reg = await read(d.url);
    await d.close();
    expect(reg).toMatchObject({ version: 3, updatedBy: 'admin' });
    expect(reg.city.wards[0]!.name).toBe('Phường sửa trên web');
  });
});

describe('the policy file after the first start', () => {
  it('is the new recipients version while nobody edited them in the dashboard; after an edit the dashboard version stays', () => {
    const db = openStateDb(join(h.dir, 'directory.db'));
    try {
      migrate(db, CORE_MIGRATIONS);
      const log = createLogger('directory', { level: 'silent' });
      const withPhone = (phone: string) =>
        parseNotifyPolicy({ ...policy(esms.url), recipients: policy(esms.url).recipients.map((r, i) => (i === 0 ? { ...r, phone } : r)) });
      createNotifyDirectory(db, Date.now, log).attach(withPhone('0905111222'));
      const second = createNotifyDirectory(db, Date.now, log);
      expect(second.attach(withPhone('0905 000 999')).recipients[0]!.phone).toBe('84905000999');
      expect(second.current()).toMatchObject({ version: 2, updatedBy: 'system' });
      const edited = second.current().recipients.map((r, i) => (i === 0 ? { ...r, phone: '0912 345 678' } : r));
      second.replace(2, { recipients: edited, groups: second.current().groups, routes: second.current().routes }, 'admin');
      const third = createNotifyDirectory(db, Date.now, log);
      expect(third.attach(withPhone('0905 777 777')).recipients[0]!.phone).toBe('84912345678');
      expect(third.current()).toMatchObject({ version: 3, updatedBy: 'admin' });
    } finally {
      db.close();
    }
  });
});

describe('two dashboard processes sharing the state DB', () => {
  it('the other one follows a saved registry version (its /api/city and gateways) without a restart', async () => {
    const other = await startDashboard(
      {
        ...h.config,
        http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080' },
        mqtt: { url: h.mqttUrl, clientId: 'dashboard-second' },
        stateDbPollMs: 100,
      },
      { store: h.store, city: h.city, logger: createLogger('second', { level: 'silent' }) },
    );
    try {
      const { version, city } = await getRegistry();
      const renamed = { ...city, gateways: city.gateways.map((g, i) => (i === 0 ? { ...g, name: 'Gateway đổi tên' } : g)) };
      expect((await api(h.url, admin, 'PUT', '/api/admin/registry', { baseVersion: version, city: renamed })).status).toBe(200);
      const viewer = await login(other.url, 'viewer');
      await waitFor(
        async () =>
          ((await (await api(other.url, viewer, 'GET', '/api/city')).json()) as CityModel).gateways[0]!.name === 'Gateway đổi tên',
        { what: 'second process sees the new registry' },
      );
      const gws = (await (await api(other.url, viewer, 'GET', '/api/gateways')).json()) as {
        gateways: Array<{ id: string; name: string }>;
      };
      expect(gws.gateways.find((g) => g.id === city.gateways[0]!.id)?.name).toBe('Gateway đổi tên');
    } finally {
      await other.close();
    }
  });
});

describe('notification recipients', () => {
  const raise = async (n: number) => {
    const event: AlarmEvent = {
      ruleId: 'flood-level',
      sourceId: `an-phu-water-${n}`,
      state: 'raised',
      severity: 'critical',
      category: 'water',
      ward: 'an-phu',
      value: 3.2,
      limit: 3,
      since: Date.now(),
      ts: Date.now(),
      message: { vi: 'Ngập', en: 'Flood' },
    };
    await observer.publishAsync(topics.alarmEvent(event.ruleId, event.sourceId), JSON.stringify(event), { qos: 1 });
  };

  it('are seeded from the policy as version 1 and listed for admins only', async () => {
    const res = await api(h.url, admin, 'GET', '/api/admin/recipients');
    const body = (await res.json()) as { configured: boolean; version: number; recipients: Array<{ id: string }>; channels: string[] };
    expect(body).toMatchObject({ configured: true, version: 1, channels: ['sms'] });
    expect(body.recipients.map((r) => r.id)).toEqual(['tech-an-phu', 'supervisor']);
    const operator = await login(h.url, 'operator');
    expect((await api(h.url, operator, 'GET', '/api/admin/recipients')).status).toBe(403);
    expect((await api(h.url, operator, 'PUT', '/api/admin/recipients', { recipients: [] })).status).toBe(403);
  });

  it('an edit normalises the phone, is audited, and the next alarm goes to the new number without a restart', async () => {
    const cur = (await (await api(h.url, admin, 'GET', '/api/admin/recipients')).json()) as {
      version: number;
      recipients: Array<Record<string, unknown>>;
      groups: unknown[];
      routes: unknown[];
    };
    const recipients = cur.recipients.map((r) => (r.id === 'tech-an-phu' ? { ...r, phone: '+84 912 345 678' } : r));
    recipients.push({ id: 'zalo-only', name: 'Cán bộ mới', phone: '0935 000 111', zaloUserId: '2468458835296197922', channels: ['sms'] });
    const res = await api(h.url, admin, 'PUT', '/api/admin/recipients', {
      baseVersion: cur.version,
      recipients,
      groups: cur.groups,
      routes: cur.routes,
    });
    expect(res.status).toBe(200);
    const saved = (await res.json()) as { version: number; recipients: Array<{ id: string; phone?: string }> };
    expect(saved.version).toBe(cur.version + 1);
    expect(saved.recipients.find((r) => r.id === 'tech-an-phu')?.phone).toBe('84912345678');

    const audit = (await (await api(h.url, admin, 'GET', '/api/audit?limit=20')).json()) as {
      entries: Array<{ user: string; action: string; detail: Record<string, unknown> }>;
    };
    expect(audit.entries.find((e) => e.action === 'recipients.update')).toMatchObject({
      user: 'admin',
      detail: { version: saved.version, added: ['zalo-only'], changed: ['tech-an-phu'], removed: [] },
    });

    await raise(1);
    await waitFor(() => esms.messages.length > 0, { what: 'SMS for the flood alarm', timeoutMs: 15_000 });
    expect(esms.messages.map((m) => m.phone)).toEqual(['84912345678']);
  });

  it('a message waiting for its retry goes to the corrected number', async () => {
    esms.failNext('103'); // insufficient balance: the provider says try again in 10 min
    const calls = esms.state.calls;
    await raise(2);
    await waitFor(() => esms.state.calls > calls, { what: 'the refused SMS attempt', timeoutMs: 15_000 });
    const state = new Database(join(h.dir, 'state.db'), { readonly: true });
    try {
      const row = () =>
        state.prepare("SELECT address, state FROM notifications WHERE recipient = 'tech-an-phu' ORDER BY id DESC LIMIT 1").get() as {
          address: string;
          state: string;
        };
      await waitFor(() => row().state === 'pending', { what: 'the SMS back in the outbox for its retry' });
      expect(row().address).toBe('84912345678');
      const cur = (await (await api(h.url, admin, 'GET', '/api/admin/recipients')).json()) as {
        version: number;
        recipients: Array<Record<string, unknown>>;
      };
      const recipients = cur.recipients.map((r) => (r.id === 'tech-an-phu' ? { ...r, phone: '0988 777 666' } : r));
      expect((await api(h.url, admin, 'PUT', '/api/admin/recipients', { baseVersion: cur.version, recipients })).status).toBe(200);
      expect(row()).toEqual({ address: '84988777666', state: 'pending' });
    } finally {
      state.close();
    }
  });

  it('refuses a bad phone, an unknown recipient in a route and an unconfigured channel with issues naming the field', async () => {
    const cur = (await (await api(h.url, admin, 'GET', '/api/admin/recipients')).json()) as {
      version: number;
      recipients: Array<Record<string, unknown>>;
      routes: Array<Record<string, unknown>>;
    };
    const recipients = cur.recipients.map((r, i) => (i === 0 ? { ...r, phone: '12345' } : i === 1 ? { ...r, channels: ['zalo'] } : r));
    const routes = [{ id: 'flood', match: { categories: ['water'] }, steps: [{ to: ['nobody'] }] }];
    const res = await api(h.url, admin, 'PUT', '/api/admin/recipients', { baseVersion: cur.version, recipients, routes });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: Array<{ path: string; message: string }> };
    expect(body.error).toBe('invalid_recipients');
    const paths = body.issues.map((i) => i.path);
    expect(paths).toContain('recipients.0.phone');
    expect(paths).toContain('recipients.1.channels.0');
    expect(paths).toContain('routes.0.steps.0.to.0');
    expect((await (await api(h.url, admin, 'GET', '/api/admin/recipients')).json()).version).toBe(cur.version);
  });

  it('refuses a stale editor with 409 and keeps the edits across a restart', async () => {
    const cur = (await (await api(h.url, admin, 'GET', '/api/admin/recipients')).json()) as {
      version: number;
      recipients: Array<Record<string, unknown>>;
    };
    const stale = await api(h.url, admin, 'PUT', '/api/admin/recipients', { baseVersion: cur.version - 1, recipients: cur.recipients });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { error: string }).error).toBe('conflict');
    await h.restart();
    admin = await login(h.url, 'admin');
    const after = (await (await api(h.url, admin, 'GET', '/api/admin/recipients')).json()) as {
      version: number;
      recipients: Array<{ id: string }>;
    };
    expect(after.version).toBe(cur.version);
    expect(after.recipients.map((r) => r.id)).toContain('zalo-only');
  });
});

describe('change my own password', () => {
  it('needs the current password, applies the account policy, ends the other sessions and sockets but not this one', async () => {
    const here = await login(h.url, 'technician');
    const elsewhere = await login(h.url, 'technician');
    const socket = await wsClient(h.url, { cookie: elsewhere.cookie });
    await socket.next((f) => f.type === 'hello', 'hello');
    const closed = new Promise<number>((resolve) => socket.ws.once('close', (code) => resolve(code)));

    const wrong = await api(h.url, here, 'POST', '/api/auth/password', { currentPassword: 'not-it', newPassword: 'a-long-new-password' });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toBe('wrong_password');
    const weak = await api(h.url, here, 'POST', '/api/auth/password', { currentPassword: 'tech-pass-1', newPassword: 'short' });
    expect(((await weak.json()) as { error: string }).error).toBe('weak_password');

    const ok = await api(h.url, here, 'POST', '/api/auth/password', { currentPassword: 'tech-pass-1', newPassword: 'kiem-tra-tram-2026' });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { sessionsEnded: number }).sessionsEnded).toBeGreaterThanOrEqual(1);
    expect(await closed).toBe(4401);
    expect((await api(h.url, here, 'GET', '/api/auth/me')).status).toBe(200);
    expect((await api(h.url, elsewhere, 'GET', '/api/auth/me')).status).toBe(401);
    const old = await api(h.url, null, 'POST', '/api/auth/login', { username: 'technician', password: 'tech-pass-1' });
    expect(old.status).toBe(401);
    const fresh = await api(h.url, null, 'POST', '/api/auth/login', { username: 'technician', password: 'kiem-tra-tram-2026' });
    expect(fresh.status).toBe(200);

    const audit = (await (await api(h.url, admin, 'GET', '/api/audit?limit=50')).json()) as {
      entries: Array<{ user: string; action: string; detail: Record<string, unknown> }>;
    };
    const row = audit.entries.find((e) => e.action === 'auth.password_change');
    expect(row).toMatchObject({ user: 'technician' });
    expect(JSON.stringify(audit.entries)).not.toContain('kiem-tra-tram-2026');
  });

  it('is refused to kiosk sessions', async () => {
    const res = await api(h.url, null, 'POST', '/api/auth/kiosk', { token: 'wall-token-0123456789abcdef' });
    const body = (await res.json()) as { csrfToken: string };
    const kiosk = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: body.csrfToken };
    const change = await api(h.url, kiosk, 'POST', '/api/auth/password', { currentPassword: 'x', newPassword: 'a-long-new-password' });
    expect(change.status).toBe(403);
    expect(((await change.json()) as { error: string }).error).toBe('kiosk');
  });
});
