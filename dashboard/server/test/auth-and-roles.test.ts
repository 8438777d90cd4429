import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cookieOf, KIOSK_TOKEN, login, PASSWORDS, startHarness, wsClient, type Harness, type RoleName, type Session } from './helpers';

/** Every route and the least role allowed to call it, as docs/api.md says (plus the server's documented extras). */
const ROUTES: Array<{ method: string; path: string; role: RoleName | 'any' | 'none' }> = [
  { method: 'POST', path: '/api/auth/login', role: 'none' },
  { method: 'POST', path: '/api/auth/kiosk', role: 'none' },
  { method: 'POST', path: '/api/auth/logout', role: 'any' },
  { method: 'GET', path: '/api/auth/me', role: 'any' },
  { method: 'POST', path: '/api/auth/password', role: 'any' },
  { method: 'GET', path: '/api/city', role: 'viewer' },
  { method: 'GET', path: '/api/latest', role: 'viewer' },
  { method: 'GET', path: '/api/history', role: 'viewer' },
  { method: 'GET', path: '/api/history.csv', role: 'viewer' },
  { method: 'GET', path: '/api/overview', role: 'viewer' },
  { method: 'GET', path: '/api/limits', role: 'viewer' },
  { method: 'GET', path: '/api/map', role: 'viewer' },
  { method: 'GET', path: '/api/dead-letters', role: 'technician' },
  { method: 'GET', path: '/api/export/ngsi-ld', role: 'viewer' },
  { method: 'GET', path: '/api/reports/daily', role: 'viewer' },
  { method: 'GET', path: '/api/reports/monthly', role: 'viewer' },
  { method: 'GET', path: '/api/gateways', role: 'viewer' },
  { method: 'GET', path: '/api/gateways/{id}', role: 'viewer' },
  { method: 'POST', path: '/api/gateways/{id}/commands', role: 'technician' },
  { method: 'GET', path: '/api/commands/{id}', role: 'technician' },
  { method: 'GET', path: '/api/devices/{id}', role: 'viewer' },
  { method: 'GET', path: '/api/rules', role: 'viewer' },
  { method: 'PUT', path: '/api/rules', role: 'admin' },
  { method: 'POST', path: '/api/rules/validate', role: 'admin' },
  { method: 'GET', path: '/api/tokens', role: 'admin' },
  { method: 'POST', path: '/api/tokens', role: 'admin' },
  { method: 'DELETE', path: '/api/tokens/{id}', role: 'admin' },
  { method: 'GET', path: '/api/audit', role: 'admin' },
  { method: 'GET', path: '/api/users', role: 'admin' },
  { method: 'POST', path: '/api/users', role: 'admin' },
  { method: 'PATCH', path: '/api/users/{username}', role: 'admin' },
  { method: 'GET', path: '/api/admin/recipients', role: 'admin' },
  { method: 'PUT', path: '/api/admin/recipients', role: 'admin' },
  { method: 'GET', path: '/api/admin/registry', role: 'admin' },
  { method: 'PUT', path: '/api/admin/registry', role: 'admin' },
  { method: 'PUT', path: '/api/admin/registry/devices/{id}', role: 'admin' },
  { method: 'DELETE', path: '/api/admin/registry/devices/{id}', role: 'admin' },
  { method: 'GET', path: '/api/openapi.json', role: 'any' },
  { method: 'GET', path: '/healthz', role: 'none' },
];
const RANK: Record<RoleName, number> = { viewer: 0, operator: 1, technician: 2, admin: 3 };
const ROLES = Object.keys(RANK) as RoleName[];

let h: Harness;
const sessions = {} as Record<RoleName, Session>;

beforeAll(async () => {
  h = await startHarness();
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
    expect((await right.json()).version).toBe(1);
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
  it('the OpenAPI document lists exactly the routes of the matrix, each with its role', async () => {
    const doc = await (await api(h.url, sessions.viewer, 'GET', '/api/openapi.json')).json();
    const listed = Object.entries(doc.paths as Record<string, Record<string, { 'x-role': string }>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${path} ${op['x-role']}`),
    );
    expect(listed.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path} ${r.role === 'any' ? 'any' : r.role}`).sort());
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path} needs ${route.role}`, async () => {
      const path = route.path.replace(/\{[^}]+\}/g, 'no-such-id');
      const body = route.method === 'GET' ? undefined : {};
      const anonymous = await api(h.url, null, route.method, path, body);
      if (route.role === 'none') {
        expect([401, 403, 404]).not.toContain(anonymous.status);
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
    expect(entries.some((e) => e.user === 'admin' && e.action === 'rules.update' && e.detail.version === 1)).toBe(true);
    expect(entries.some((e) => e.user === 'operator' && e.action === 'auth.login')).toBe(true);
    expect(entries.some((e) => e.user === 'admin' && e.action === 'auth.login_failed')).toBe(true);
    expect(entries.some((e) => e.user === 'kiosk:wall-1' && e.action === 'auth.kiosk')).toBe(true);
  });
});
