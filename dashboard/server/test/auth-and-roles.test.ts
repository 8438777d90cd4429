import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createAlarmsModule } from '../src/alarms';
import type { WardRule } from '../src/http/route-table';
import { topics } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import {
  api,
  cookieOf,
  KIOSK_TOKEN,
  login,
  mqttClient,
  PASSWORDS,
  startHarness,
  wsClient,
  type Harness,
  type RoleName,
  type Session,
} from './helpers';

/** Every route and the least role allowed to call it, as docs/api.md says (plus the server's documented extras). */
/**
 * Every route, the least role allowed to call it, as docs/api.md says (plus the server's documented extras),
 * and its ward rule: `filter` narrows to a ward-limited caller's wards (each has a probe in WARD_PROBES below),
 * `city` refuses such a caller, `none` carries no ward data. The harness runs the alarms module too.
 */
const ROUTES: Array<{ method: string; path: string; role: RoleName | 'any' | 'none'; wards: WardRule; unconfigured?: true }> = [
  { method: 'POST', path: '/api/auth/login', role: 'none', wards: 'none' },
  { method: 'POST', path: '/api/auth/kiosk', role: 'none', wards: 'none' },
  { method: 'POST', path: '/api/auth/logout', role: 'any', wards: 'none' },
  { method: 'GET', path: '/api/auth/me', role: 'any', wards: 'none' },
  { method: 'POST', path: '/api/auth/password', role: 'any', wards: 'none' },
  { method: 'GET', path: '/api/city', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/latest', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/history', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/history.csv', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/overview', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/limits', role: 'viewer', wards: 'none' },
  { method: 'GET', path: '/api/map', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/dead-letters', role: 'technician', wards: 'city' },
  { method: 'GET', path: '/api/export/ngsi-ld', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/reports/daily', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/reports/monthly', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/gateways', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/gateways/{id}', role: 'viewer', wards: 'filter' },
  { method: 'POST', path: '/api/gateways/{id}/commands', role: 'technician', wards: 'filter' },
  { method: 'GET', path: '/api/commands/{id}', role: 'technician', wards: 'filter' },
  { method: 'GET', path: '/api/devices/{id}', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/rules', role: 'viewer', wards: 'none' },
  { method: 'PUT', path: '/api/rules', role: 'admin', wards: 'city' },
  { method: 'POST', path: '/api/rules/validate', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/tokens', role: 'admin', wards: 'city' },
  { method: 'POST', path: '/api/tokens', role: 'admin', wards: 'city' },
  { method: 'DELETE', path: '/api/tokens/{id}', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/audit', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/users', role: 'admin', wards: 'city' },
  { method: 'POST', path: '/api/users', role: 'admin', wards: 'city' },
  { method: 'PATCH', path: '/api/users/{username}', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/admin/recipients', role: 'admin', wards: 'city' },
  { method: 'PUT', path: '/api/admin/recipients', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/admin/registry', role: 'admin', wards: 'city' },
  { method: 'PUT', path: '/api/admin/registry', role: 'admin', wards: 'city' },
  { method: 'PUT', path: '/api/admin/registry/devices/{id}', role: 'admin', wards: 'city' },
  { method: 'DELETE', path: '/api/admin/registry/devices/{id}', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/openapi.json', role: 'any', wards: 'none' },
  { method: 'GET', path: '/healthz', role: 'none', wards: 'none' },
  { method: 'GET', path: '/api/admin/notifications', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/alarms', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/alarms.csv', role: 'operator', wards: 'filter' },
  { method: 'GET', path: '/api/alarms/assignees', role: 'operator', wards: 'none' },
  { method: 'GET', path: '/api/alarms/health', role: 'admin', wards: 'city' },
  { method: 'GET', path: '/api/alarms/count', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/alarms/rows', role: 'viewer', wards: 'filter' },
  { method: 'GET', path: '/api/alarms/shelves', role: 'viewer', wards: 'filter' },
  { method: 'POST', path: '/api/alarms/shelves', role: 'operator', wards: 'filter' },
  { method: 'DELETE', path: '/api/alarms/shelves/{id}', role: 'operator', wards: 'filter' },
  { method: 'POST', path: '/api/alarms/bulk', role: 'operator', wards: 'filter' },
  { method: 'GET', path: '/api/alarms/{id}', role: 'viewer', wards: 'filter' },
  { method: 'POST', path: '/api/alarms/{id}/ack', role: 'operator', wards: 'filter' },
  { method: 'POST', path: '/api/alarms/{id}/assign', role: 'operator', wards: 'filter' },
  { method: 'POST', path: '/api/alarms/{id}/comment', role: 'operator', wards: 'filter' },
  { method: 'POST', path: '/api/alarms/{id}/clear', role: 'operator', wards: 'filter' },
  // Not configured in this harness (no `public:` section): 404, never 401/403.
  { method: 'GET', path: '/api/public/summary', role: 'none', wards: 'none', unconfigured: true },
  { method: 'GET', path: '/api/public/map', role: 'none', wards: 'none', unconfigured: true },
  // Provider callbacks: 404 "not configured" here (no notification policy), never 401/403.
  { method: 'POST', path: '/api/notify/esms/callback', role: 'none', wards: 'none', unconfigured: true },
  { method: 'POST', path: '/api/notify/sms/inbound', role: 'none', wards: 'none', unconfigured: true },
  { method: 'POST', path: '/api/notify/zalo/webhook', role: 'none', wards: 'none', unconfigured: true },
];
const REPO = join(import.meta.dirname, '..', '..', '..');
const RANK: Record<RoleName, number> = { viewer: 0, operator: 1, technician: 2, admin: 3 };
const ROLES = Object.keys(RANK) as RoleName[];

let h: Harness;
let rulesVersion = 0;
const sessions = {} as Record<RoleName, Session>;

beforeAll(async () => {
  h = await startHarness({
    modules: [createAlarmsModule({ rulesFile: join(REPO, 'config/rules/default.yaml') })],
    // Ward areas, so GET /api/map has something per ward to narrow.
    config: { map: { wardAreas: join(REPO, 'config/tam-ky/wards.geojson') } },
  });
  for (const role of ROLES) sessions[role] = await login(h.url, role);
});
afterAll(async () => {
  await h?.close();
});

describe('login, session, logout', () => {
  it('logs in with an httpOnly SameSite=Strict cookie and answers /me with the CSRF token', async () => {
    const res = await api(h.url, null, 'POST', '/api/auth/login', { username: 'operator', password: PASSWORDS.operator });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^sid=[^;]+;/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    const body = await res.json();
    expect(body.user).toEqual({ username: 'operator', role: 'operator', displayName: 'operator user' });
    const me = await api(h.url, { cookie: cookieOf(res), csrf: '' }, 'GET', '/api/auth/me');
    expect(me.status).toBe(200);
    expect((await me.json()).csrfToken).toBe(body.csrfToken);
  });

  it('refuses a wrong password with 401 and no cookie', async () => {
    const res = await api(h.url, null, 'POST', '/api/auth/login', { username: 'admin', password: 'nope' });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect((await res.json()).error).toBe('bad_credentials');
  });

  it('answers 401 to /me without a session', async () => {
    expect((await api(h.url, null, 'GET', '/api/auth/me')).status).toBe(401);
  });

  it('logout ends the session (requires CSRF)', async () => {
    const s = await login(h.url, 'viewer');
    expect((await api(h.url, { cookie: s.cookie, csrf: 'wrong' }, 'POST', '/api/auth/logout')).status).toBe(403);
    expect((await api(h.url, s, 'POST', '/api/auth/logout')).status).toBe(204);
    expect((await api(h.url, s, 'GET', '/api/auth/me')).status).toBe(401);
  });

  it('enforces the CSRF header on every non-GET request', async () => {
    const admin = sessions.admin;
    const noHeader = await fetch(`${h.url}/api/rules`, {
      method: 'PUT',
      headers: { cookie: admin.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ rules: [] }),
    });
    expect(noHeader.status).toBe(403);
    expect((await noHeader.json()).error).toBe('csrf');
    const wrong = await api(h.url, { cookie: admin.cookie, csrf: `${admin.csrf}x` }, 'PUT', '/api/rules', { rules: [] });
    expect(wrong.status).toBe(403);
    const right = await api(h.url, admin, 'PUT', '/api/rules', {
      rules: [{ id: 'r1', type: 'threshold', category: 'noise', kind: 'noise_meter', field: 'laeq', op: '>', value: 70 }],
    });
    expect(right.status).toBe(200);
    // The alarms module's rules file is version 1: this edit is the next one.
    rulesVersion = (await right.json()).version;
    expect(rulesVersion).toBe(2);
  });

  it('rate-limits repeated failed logins for a username with 429 and Retry-After', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 12; i++) last = await api(h.url, null, 'POST', '/api/auth/login', { username: 'ghost', password: `guess-${i}` });
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('sends security headers: CSP without inline scripts, nosniff, no framing', async () => {
    const res = await fetch(`${h.url}/api/openapi.json`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('kiosk tokens', () => {
  it('open a read-only viewer session', async () => {
    const res = await api(h.url, null, 'POST', '/api/auth/kiosk', { token: KIOSK_TOKEN });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.user.role).toBe('viewer');
    const s = { cookie: cookieOf(res), csrf: body.csrfToken as string };
    expect((await api(h.url, s, 'GET', '/api/overview')).status).toBe(200);
    expect((await api(h.url, s, 'GET', '/api/dead-letters')).status).toBe(403);
    expect((await api(h.url, s, 'POST', '/api/gateways/gw-an-my/commands', { type: 'read_now' })).status).toBe(403);
  });

  it('refuse an unknown token', async () => {
    expect((await api(h.url, null, 'POST', '/api/auth/kiosk', { token: 'not-the-token' })).status).toBe(401);
  });

  it('authenticate the WebSocket with ?kiosk= and refuse it without credentials', async () => {
    const c = await wsClient(h.url, { query: `?kiosk=${KIOSK_TOKEN}` });
    const hello = await c.next((f) => f.type === 'hello', 'hello');
    expect(typeof hello.serverTime).toBe('number');
    c.ws.close();
    await expect(wsClient(h.url)).rejects.toThrow(/401/);
    await expect(wsClient(h.url, { query: '?kiosk=wrong' })).rejects.toThrow(/401/);
    await expect(wsClient(h.url, { cookie: sessions.viewer.cookie, origin: 'https://evil.example' })).rejects.toThrow(/403/);
  });
});

describe('role matrix', () => {
  it('the OpenAPI document lists exactly the routes of the matrix, each with its role and ward rule', async () => {
    const doc = await (await api(h.url, sessions.viewer, 'GET', '/api/openapi.json')).json();
    const listed = Object.entries(doc.paths as Record<string, Record<string, { 'x-role': string; 'x-wards': string }>>).flatMap(
      ([path, ops]) => Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${path} ${op['x-role']} ${op['x-wards']}`),
    );
    expect(listed.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path} ${r.role} ${r.wards}`).sort());
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path} needs ${route.role}`, async () => {
      const path = route.path.replace(/\{[^}]+\}/g, 'no-such-id');
      const body = route.method === 'GET' ? undefined : {};
      const anonymous = await api(h.url, null, route.method, path, body);
      if (route.role === 'none') {
        expect(route.unconfigured ? [401, 403] : [401, 403, 404]).not.toContain(anonymous.status);
        return;
      }
      expect(anonymous.status).toBe(401);
      for (const role of ROLES) {
        // Logout ends the session it is called with: use a fresh one.
        const session = route.path === '/api/auth/logout' ? await login(h.url, role) : sessions[role];
        const res = await api(h.url, session, route.method, path, body);
        const allowed = route.role === 'any' || RANK[role] >= RANK[route.role];
        if (allowed) expect([401, 403], `${role} should be allowed (${res.status})`).not.toContain(res.status);
        else expect(res.status, `${role} must be refused`).toBe(403);
      }
    });
  }
});

describe('audit', () => {
  it('records logins and changes with who and what', async () => {
    const res = await api(h.url, sessions.admin, 'GET', '/api/audit?limit=500');
    const { entries } = (await res.json()) as { entries: Array<{ user: string; action: string; detail: Record<string, unknown> }> };
    expect(entries.some((e) => e.user === 'admin' && e.action === 'rules.update' && e.detail.version === rulesVersion)).toBe(true);
    expect(entries.some((e) => e.user === 'operator' && e.action === 'auth.login')).toBe(true);
    expect(entries.some((e) => e.user === 'admin' && e.action === 'auth.login_failed')).toBe(true);
    expect(entries.some((e) => e.user === 'kiosk:wall-1' && e.action === 'auth.kiosk')).toBe(true);
  });
});

describe('ward scope: every route × (city-wide admin, admin limited to one ward)', () => {
  const OWN = 'an-my';
  const OTHER = 'an-phu';
  const T = Date.UTC(2026, 10, 26, 3, 0, 0);
  let city: Session;
  let ward: Session;
  const alarmIds: Record<string, number> = {};
  const commandIds: Record<string, string> = {};
  const wardOfDevice = (id: string) => h.city.devices.find((d) => d.id === id)?.ward;
  const wardOfGateway = (id: string) => h.city.gateways.find((g) => g.id === id)?.ward;
  const csvWards = async (res: Response, column: string) => {
    const [head, ...rows] = (await res.text())
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    const at = head!.split(',').indexOf(column);
    expect(at, `CSV has a ${column} column`).toBeGreaterThanOrEqual(0);
    return rows.map((r) => r.split(',')[at]!);
  };
  /** For each ward's call, the wards where calling the route on that ward's thing succeeded. */
  const succeededIn = async (s: Session, tries: Record<string, () => Promise<Response>>) => {
    const ok: string[] = [];
    for (const [w, call] of Object.entries(tries)) {
      const res = await call();
      // 409: found and acted on, only its state conflicted (acknowledged by the earlier session): reached.
      if (res.status < 300 || res.status === 409) ok.push(w);
      else expect([404, 400], `${w}: ${res.status}`).toContain(res.status);
    }
    return ok;
  };
  const openAlarm = async (w: string, s: Session) => {
    const { alarms } = await (await api(h.url, s, 'GET', `/api/alarms?ward=${w}&state=open`)).json();
    return (alarms as Array<{ id: number }>)[0]!.id;
  };

  /** Every `filter` route: the wards its answer (or action) reached for a session. */
  const WARD_PROBES: Record<string, (s: Session) => Promise<string[]>> = {
    'GET /api/city': async (s) => {
      const c = await (await api(h.url, s, 'GET', '/api/city')).json();
      return [...c.wards.map((w: { id: string }) => w.id), ...c.devices.map((d: { ward: string }) => d.ward)];
    },
    'GET /api/map': async (s) =>
      (await (await api(h.url, s, 'GET', '/api/map')).json()).wardAreas.features.map(
        (f: { properties: { ward: string } }) => f.properties.ward,
      ),
    'GET /api/latest': async (s) =>
      (await (await api(h.url, s, 'GET', '/api/latest')).json()).readings.map((r: { ward: string }) => r.ward),
    'GET /api/history': async (s) =>
      (
        await (await api(h.url, s, 'GET', `/api/history?kind=noise_meter&fields=laeq&from=${T - 60_000}&to=${T + 60_000}`)).json()
      ).series.map((x: { device: string }) => wardOfDevice(x.device)),
    'GET /api/history.csv': async (s) =>
      csvWards(await api(h.url, s, 'GET', `/api/history.csv?kind=noise_meter&fields=laeq&from=${T - 60_000}&to=${T + 60_000}`), 'ward'),
    'GET /api/overview': async (s) =>
      (await (await api(h.url, s, 'GET', '/api/overview')).json()).wards.map((w: { ward: string }) => w.ward),
    'GET /api/export/ngsi-ld': async (s) =>
      ((await (await api(h.url, s, 'GET', '/api/export/ngsi-ld')).json()) as Array<{ id: string }>).flatMap((e) => {
        const id = e.id.split(':').pop()!;
        return [wardOfDevice(id) ?? wardOfGateway(id) ?? id];
      }),
    'GET /api/reports/daily': async (s) =>
      (await (await api(h.url, s, 'GET', `/api/reports/daily?period=2026-11-26`)).json()).wards.map((w: { id: string }) => w.id),
    'GET /api/reports/monthly': async (s) =>
      (await (await api(h.url, s, 'GET', `/api/reports/monthly?period=2026-11`)).json()).wards.map((w: { id: string }) => w.id),
    'GET /api/gateways': async (s) =>
      (await (await api(h.url, s, 'GET', '/api/gateways')).json()).gateways.map((g: { ward: string }) => g.ward),
    'GET /api/gateways/{id}': (s) =>
      succeededIn(s, {
        [OWN]: () => api(h.url, s, 'GET', `/api/gateways/gw-${OWN}`),
        [OTHER]: () => api(h.url, s, 'GET', `/api/gateways/gw-${OTHER}`),
      }),
    'POST /api/gateways/{id}/commands': (s) =>
      succeededIn(s, {
        [OWN]: () => api(h.url, s, 'POST', `/api/gateways/gw-${OWN}/commands`, { type: 'read_now' }),
        [OTHER]: () => api(h.url, s, 'POST', `/api/gateways/gw-${OTHER}/commands`, { type: 'read_now' }),
      }),
    'GET /api/commands/{id}': (s) =>
      succeededIn(s, {
        [OWN]: () => api(h.url, s, 'GET', `/api/commands/${commandIds[OWN]}`),
        [OTHER]: () => api(h.url, s, 'GET', `/api/commands/${commandIds[OTHER]}`),
      }),
    'GET /api/devices/{id}': (s) =>
      succeededIn(s, {
        [OWN]: () => api(h.url, s, 'GET', `/api/devices/${OWN}-noise-1`),
        [OTHER]: () => api(h.url, s, 'GET', `/api/devices/${OTHER}-noise-1`),
      }),
    'GET /api/alarms': async (s) => (await (await api(h.url, s, 'GET', '/api/alarms')).json()).alarms.map((a: { ward: string }) => a.ward),
    'GET /api/alarms.csv': async (s) => {
      const names = new Map(h.city.wards.map((w) => [w.name, w.id]));
      const res = await api(h.url, s, 'GET', '/api/alarms.csv?lang=en');
      const text = (await res.text()).replace(/^\uFEFF/, '');
      // Ward names sit in quoted or plain cells: find which of the city's wards the rows mention.
      return [...names].filter(([name]) => text.includes(name)).map(([, id]) => id);
    },
    // A count carries no ward: the probe finds which wards' open top-level alarms (as the city-wide list shows them) it adds up to.
    'GET /api/alarms/count': async (s) => {
      const { alarms } = await (await api(h.url, city, 'GET', '/api/alarms?limit=5000')).json();
      const openIn = (w: string) =>
        (alarms as Array<{ ward: string; state: string; parentId: string | null }>).filter(
          (a) => a.ward === w && a.state !== 'cleared' && a.parentId === null,
        ).length;
      const counted = (await (await api(h.url, s, 'GET', '/api/alarms/count')).json()).open as number;
      const [own, other] = [openIn(OWN), openIn(OTHER)];
      if (counted === own + other) return [OWN, OTHER];
      if (counted === own) return [OWN];
      return counted === other ? [OTHER] : [`${counted} of ${own} + ${other}`];
    },
    'GET /api/alarms/rows': async (s) =>
      (await (await api(h.url, s, 'GET', '/api/alarms/rows?rows=1000')).json()).rows.flatMap(
        (r: { lead: { ward: string }; members: Array<{ ward: string }>; children: Array<{ ward: string }> }) =>
          [r.lead, ...r.members, ...r.children].map((a) => a.ward),
      ),
    'GET /api/alarms/shelves': async (s) => {
      for (const w of [OWN, OTHER])
        await api(h.url, city, 'POST', '/api/alarms/shelves', {
          targetType: 'device',
          targetId: `${w}-traffic-1`,
          reason: 'probe',
          minutes: 5,
        });
      const { shelves } = await (await api(h.url, s, 'GET', '/api/alarms/shelves')).json();
      return shelves.map((x: { targetType: string; targetId: string }) =>
        x.targetType === 'ward' ? x.targetId : wardOfDevice(x.targetId),
      );
    },
    'POST /api/alarms/shelves': (s) =>
      succeededIn(
        s,
        Object.fromEntries(
          [OWN, OTHER].map((w) => [
            w,
            () =>
              api(h.url, s, 'POST', '/api/alarms/shelves', { targetType: 'device', targetId: `${w}-light-1`, reason: 'probe', minutes: 5 }),
          ]),
        ),
      ),
    'DELETE /api/alarms/shelves/{id}': async (s) => {
      // Shelves made by the city-wide admin, one per ward, ended by the session under test.
      const ids: Record<string, number> = {};
      for (const w of [OWN, OTHER])
        ids[w] = (
          await (
            await api(h.url, city, 'POST', '/api/alarms/shelves', { targetType: 'ward', targetId: w, reason: 'probe', minutes: 5 })
          ).json()
        ).shelf.id;
      return succeededIn(
        s,
        Object.fromEntries([OWN, OTHER].map((w) => [w, () => api(h.url, s, 'DELETE', `/api/alarms/shelves/${ids[w]}`)])),
      );
    },
    'POST /api/alarms/bulk': async (s) => {
      const res = await api(h.url, s, 'POST', '/api/alarms/bulk', {
        ids: [alarmIds[OWN], alarmIds[OTHER]],
        action: 'assign',
        assignee: 'operator',
      });
      const body = await res.json();
      return body.alarms.map((a: { ward: string }) => a.ward);
    },
    'GET /api/alarms/{id}': (s) =>
      succeededIn(s, Object.fromEntries([OWN, OTHER].map((w) => [w, () => api(h.url, s, 'GET', `/api/alarms/${alarmIds[w]}`)]))),
    'POST /api/alarms/{id}/ack': (s) =>
      succeededIn(s, Object.fromEntries([OWN, OTHER].map((w) => [w, () => api(h.url, s, 'POST', `/api/alarms/${alarmIds[w]}/ack`, {})]))),
    'POST /api/alarms/{id}/assign': (s) =>
      succeededIn(
        s,
        Object.fromEntries(
          [OWN, OTHER].map((w) => [w, () => api(h.url, s, 'POST', `/api/alarms/${alarmIds[w]}/assign`, { assignee: 'operator' })]),
        ),
      ),
    'POST /api/alarms/{id}/comment': (s) =>
      succeededIn(
        s,
        Object.fromEntries(
          [OWN, OTHER].map((w) => [w, () => api(h.url, s, 'POST', `/api/alarms/${alarmIds[w]}/comment`, { text: 'probe' })]),
        ),
      ),
    'POST /api/alarms/{id}/clear': (s) =>
      succeededIn(s, Object.fromEntries([OWN, OTHER].map((w) => [w, () => api(h.url, s, 'POST', `/api/alarms/${alarmIds[w]}/clear`, {})]))),
  };

  const raiseAlarm = async (w: string, n: number) => {
    const event = {
      ruleId: 'probe-noise',
      sourceId: `${w}-noise-1`,
      state: 'raised',
      severity: 'major',
      category: 'noise',
      ward: w,
      kind: 'noise_meter',
      device: `${w}-noise-1`,
      gateway: `gw-${w}`,
      field: 'laeq',
      value: 80 + n,
      limit: 70,
      unit: 'dB',
      since: T + n,
      ts: T + n,
      message: { vi: `ồn ${w}`, en: `noise ${w}` },
    };
    await mqttPub.publishAsync(topics.alarmEvent('probe-noise', `${w}-noise-1`), JSON.stringify(event), { qos: 1 });
  };
  let mqttPub: Awaited<ReturnType<typeof mqttClient>>;

  beforeAll(async () => {
    city = sessions.admin;
    const created = await api(h.url, city, 'POST', '/api/users', {
      username: 'ward-admin',
      displayName: 'Phường An Mỹ',
      role: 'admin',
      password: 'phuong-an-my-9876',
      wards: [OWN],
    });
    expect(created.status).toBe(201);
    expect((await created.json()).user.wards).toEqual([OWN]);
    const res = await api(h.url, null, 'POST', '/api/auth/login', { username: 'ward-admin', password: 'phuong-an-my-9876' });
    expect(res.status).toBe(200);
    ward = { cookie: cookieOf(res), csrf: (await res.json()).csrfToken };

    const readings = [OWN, OTHER].flatMap((w) => [
      { kind: 'noise_meter', device: `${w}-noise-1`, gateway: `gw-${w}`, ward: w, ts: T, seq: 1, values: { laeq: 55 } },
    ]);
    await h.store.writeBatch(readings);
    for (const w of [OWN, OTHER]) {
      const sent = await api(h.url, city, 'POST', `/api/gateways/gw-${w}/commands`, { type: 'read_now' });
      commandIds[w] = (await sent.json()).id;
    }
    mqttPub = await mqttClient(h.mqttUrl);
    await raiseAlarm(OWN, 1);
    await raiseAlarm(OTHER, 2);
    for (const w of [OWN, OTHER]) alarmIds[w] = await waitFor(() => openAlarm(w, city).catch(() => undefined), { what: `alarm in ${w}` });
  });
  afterAll(async () => {
    await mqttPub?.endAsync();
  });

  it('every filter route has a probe here (a new ward-filtered route must say how it is checked)', () => {
    const filtered = ROUTES.filter((r) => r.wards === 'filter').map((r) => `${r.method} ${r.path}`);
    expect(Object.keys(WARD_PROBES).sort()).toEqual(filtered.sort());
  });

  for (const route of ROUTES.filter((r) => r.wards === 'city')) {
    it(`${route.method} ${route.path} (city): allowed city-wide, 403 out_of_scope for the one-ward admin`, async () => {
      const path = route.path.replace(/\{[^}]+\}/g, 'no-such-id');
      const body = route.method === 'GET' ? undefined : {};
      const res = await api(h.url, ward, route.method, path, body);
      expect(res.status).toBe(403);
      expect((await res.json()).error).toBe('out_of_scope');
      expect([401, 403]).not.toContain((await api(h.url, city, route.method, path, body)).status);
    });
  }

  for (const route of ROUTES.filter((r) => r.wards === 'none' && r.role !== 'none' && r.path !== '/api/auth/logout')) {
    it(`${route.method} ${route.path} (no ward data): the same for both`, async () => {
      const body = route.method === 'GET' ? undefined : {};
      for (const s of [city, ward]) expect([401, 403]).not.toContain((await api(h.url, s, route.method, route.path, body)).status);
    });
  }

  for (const [key, probe] of Object.entries(WARD_PROBES)) {
    it(`${key} (filter): the one-ward admin reaches only its ward, the city-wide admin both`, async () => {
      const wide = new Set(await probe(city));
      expect(wide.has(OWN) && wide.has(OTHER), `city-wide saw ${[...wide]}`).toBe(true);
      const narrow = new Set(await probe(ward));
      expect([...narrow], 'one-ward admin').toEqual([OWN]);
    });
  }

  it('the live feed sends a one-ward session only its ward: readings, alarms, gateways and commands', async () => {
    const wide = await wsClient(h.url, { cookie: city.cookie });
    const narrow = await wsClient(h.url, { cookie: ward.cookie });
    for (const c of [wide, narrow]) {
      c.ws.send(JSON.stringify({ type: 'subscribe', channels: ['readings', 'alarms', 'gateways'] }));
      await c.next((f) => f.type === 'subscribed', 'subscribed');
    }
    expect((await narrow.next((f) => f.type === 'hello', 'hello')).user).toMatchObject({ wards: [OWN] });
    const live = [OWN, OTHER].map((w) => ({
      kind: 'noise_meter',
      device: `${w}-noise-1`,
      gateway: `gw-${w}`,
      ward: w,
      ts: T + 5,
      seq: 9,
      values: { laeq: 60 },
    }));
    await mqttPub.publishAsync(topics.liveReadings(), JSON.stringify({ readings: live }), { qos: 1 });
    await raiseAlarm(OTHER, 3);
    await raiseAlarm(OWN, 4);
    for (const w of [OWN, OTHER]) await api(h.url, city, 'POST', `/api/gateways/gw-${w}/commands`, { type: 'read_now' });
    // Sent last, in order: once the city-wide client has everything, so has the one-ward client (same hub, same order).
    await wide.next((f) => f.type === 'alarm' && (f.alarm as { value: number }).value === 84, 'last alarm (city-wide)');
    await narrow.next((f) => f.type === 'alarm' && (f.alarm as { value: number }).value === 84, 'last alarm (one ward)');
    const wardsIn = (frames: Array<Record<string, unknown>>) =>
      new Set(
        frames.flatMap((f) =>
          f.type === 'readings'
            ? (f.readings as Array<{ ward: string }>).map((r) => r.ward)
            : f.type === 'alarm'
              ? [(f.alarm as { ward: string }).ward]
              : f.type === 'command'
                ? [wardOfGateway((f.command as { gateway: string }).gateway)!]
                : f.type === 'gateway'
                  ? [wardOfGateway((f.gateway as { id: string }).id)!]
                  : [],
        ),
      );
    expect([...wardsIn(wide.frames)].sort()).toEqual(expect.arrayContaining([OWN, OTHER]));
    expect([...wardsIn(narrow.frames)]).toEqual([OWN]);
    expect(narrow.frames.some((f) => f.type === 'readings')).toBe(true);
    wide.ws.close();
    narrow.ws.close();
  });

  it('audit rows record the scope of a ward-limited actor, and none for a city-wide one', async () => {
    const { entries } = (await (await api(h.url, city, 'GET', '/api/audit?action=gateway.command&limit=500')).json()) as {
      entries: Array<{ user: string; scope?: string[] }>;
    };
    expect(entries.some((e) => e.user === 'ward-admin' && JSON.stringify(e.scope) === JSON.stringify([OWN]))).toBe(true);
    expect(entries.filter((e) => e.user === 'admin').every((e) => e.scope === undefined)).toBe(true);
  });

  it("changing an account's wards ends its sessions (the new scope applies now)", async () => {
    const res = await api(h.url, null, 'POST', '/api/auth/login', { username: 'ward-admin', password: 'phuong-an-my-9876' });
    const s = { cookie: cookieOf(res), csrf: (await res.json()).csrfToken as string };
    const patched = await api(h.url, city, 'PATCH', '/api/users/ward-admin', { wards: [OWN, OTHER] });
    expect(patched.status).toBe(200);
    expect((await patched.json()).sessionsEnded).toBeGreaterThanOrEqual(1);
    expect((await api(h.url, s, 'GET', '/api/auth/me')).status).toBe(401);
    expect((await api(h.url, city, 'PATCH', '/api/users/ward-admin', { wards: ['no-such-ward'] })).status).toBe(400);
  });
});
