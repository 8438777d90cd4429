import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cookieOf, login, PASSWORDS, startHarness, type Harness, type RoleName, type Session } from './helpers';

/** Account administration over real HTTP against startDashboard (real mosquitto, SQLite state DB). */
let h: Harness;
const sessions = {} as Record<RoleName, Session>;
const ADMIN_ROUTES = [
  { method: 'GET', path: '/api/users' },
  { method: 'POST', path: '/api/users', body: { username: 'x1', displayName: 'X', role: 'viewer', password: 'long-enough-pass' } },
  { method: 'PATCH', path: '/api/users/viewer', body: { disabled: true } },
];

async function loginAs(username: string, password: string): Promise<Response> {
  return api(h.url, null, 'POST', '/api/auth/login', { username, password });
}
async function sessionFor(username: string, password: string): Promise<Session> {
  const res = await loginAs(username, password);
  expect(res.status, `login ${username}`).toBe(200);
  return { cookie: cookieOf(res), csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
}
async function createUser(body: Record<string, unknown>): Promise<void> {
  const res = await api(h.url, sessions.admin, 'POST', '/api/users', body);
  expect(res.status, `create ${String(body.username)}: ${await res.clone().text()}`).toBe(201);
}
type AuditRow = { user: string; action: string; detail: Record<string, unknown> };
async function auditRows(): Promise<AuditRow[]> {
  const res = await api(h.url, sessions.admin, 'GET', '/api/audit?limit=1000');
  return ((await res.json()) as { entries: AuditRow[] }).entries;
}

beforeAll(async () => {
  h = await startHarness();
  for (const role of ['viewer', 'operator', 'technician', 'admin'] as RoleName[]) sessions[role] = await login(h.url, role);
});
afterAll(async () => {
  await h?.close();
});

describe('user administration', () => {
  it('lists the seeded accounts without password hashes, with last login', async () => {
    const res = await api(h.url, sessions.admin, 'GET', '/api/users');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toMatch(/scrypt|hash|password/i);
    const { users } = JSON.parse(text) as { users: Array<{ username: string; role: string; disabled: boolean; lastLogin: number | null }> };
    expect(users.map((u) => u.username)).toEqual(['admin', 'operator', 'technician', 'viewer']);
    const op = users.find((u) => u.username === 'operator')!;
    expect(op).toMatchObject({ role: 'operator', disabled: false });
    expect(op.lastLogin).toBeGreaterThan(0);
  });

  it('creates a user who can then log in; refuses short passwords and duplicates', async () => {
    const weak = await api(h.url, sessions.admin, 'POST', '/api/users', {
      username: 'lan.nguyen',
      displayName: 'Nguyễn Thị Lan',
      role: 'operator',
      password: 'short-pw',
    });
    expect(weak.status).toBe(400);
    expect((await weak.json()).error).toBe('weak_password');
    const badName = await api(h.url, sessions.admin, 'POST', '/api/users', {
      username: 'Lan Nguyen',
      displayName: 'x',
      role: 'operator',
      password: 'a-long-password-1',
    });
    expect(badName.status).toBe(400);
    const badRole = await api(h.url, sessions.admin, 'POST', '/api/users', {
      username: 'lan2',
      displayName: 'x',
      role: 'root',
      password: 'a-long-password-1',
    });
    expect(badRole.status).toBe(400);

    const res = await api(h.url, sessions.admin, 'POST', '/api/users', {
      username: 'lan.nguyen',
      displayName: 'Nguyễn Thị Lan',
      role: 'operator',
      password: 'ca-truc-dem-2026',
    });
    expect(res.status).toBe(201);
    const { user } = await res.json();
    expect(user).toMatchObject({
      username: 'lan.nguyen',
      displayName: 'Nguyễn Thị Lan',
      role: 'operator',
      disabled: false,
      lastLogin: null,
    });
    expect(JSON.stringify(user)).not.toContain('scrypt');

    const dup = await api(h.url, sessions.admin, 'POST', '/api/users', {
      username: 'lan.nguyen',
      displayName: 'x',
      role: 'viewer',
      password: 'another-long-one',
    });
    expect(dup.status).toBe(409);

    const s = await sessionFor('lan.nguyen', 'ca-truc-dem-2026');
    const me = await (await api(h.url, s, 'GET', '/api/auth/me')).json();
    expect(me.user).toEqual({ username: 'lan.nguyen', displayName: 'Nguyễn Thị Lan', role: 'operator' });
  });

  it('disabling a user ends their session and refuses their login; enabling lets them back', async () => {
    await createUser({ username: 'minh', displayName: 'Trần Minh', role: 'technician', password: 'ky-thuat-vien-01' });
    const s = await sessionFor('minh', 'ky-thuat-vien-01');
    expect((await api(h.url, s, 'GET', '/api/gateways')).status).toBe(200);
    // The live feed too: a socket authenticated at upgrade must not outlive the account's sessions.
    const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}/ws`, { headers: { cookie: s.cookie, origin: h.url } });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

    const res = await api(h.url, sessions.admin, 'PATCH', '/api/users/minh', { disabled: true });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.user.disabled).toBe(true);
    expect(body.sessionsEnded).toBe(1);
    expect(await closed).toBe(4401);
    expect((await api(h.url, s, 'GET', '/api/gateways')).status).toBe(401);
    expect((await loginAs('minh', 'ky-thuat-vien-01')).status).toBe(401);

    expect((await api(h.url, sessions.admin, 'PATCH', '/api/users/minh', { disabled: false })).status).toBe(200);
    expect((await loginAs('minh', 'ky-thuat-vien-01')).status).toBe(200);
  });

  it('a role change ends the sessions so the new role applies at once', async () => {
    await createUser({ username: 'hoa', displayName: 'Lê Hoa', role: 'technician', password: 'mat-khau-so-123' });
    const s = await sessionFor('hoa', 'mat-khau-so-123');
    const res = await api(h.url, sessions.admin, 'PATCH', '/api/users/hoa', { role: 'viewer' });
    expect((await res.json()).user.role).toBe('viewer');
    expect((await api(h.url, s, 'GET', '/api/auth/me')).status).toBe(401);
    const again = await sessionFor('hoa', 'mat-khau-so-123');
    expect((await api(h.url, again, 'GET', '/api/dead-letters')).status).toBe(403);
  });

  it('a password reset ends sessions, the old password stops working and the new one works', async () => {
    await createUser({ username: 'binh', displayName: 'Võ Bình', role: 'viewer', password: 'old-secret-phrase' });
    const s = await sessionFor('binh', 'old-secret-phrase');
    expect((await api(h.url, sessions.admin, 'PATCH', '/api/users/binh', { password: 'short' })).status).toBe(400);
    expect((await api(h.url, s, 'GET', '/api/auth/me')).status).toBe(200);
    const res = await api(h.url, sessions.admin, 'PATCH', '/api/users/binh', { password: 'new-secret-phrase' });
    expect(res.status).toBe(200);
    expect((await api(h.url, s, 'GET', '/api/auth/me')).status).toBe(401);
    expect((await loginAs('binh', 'old-secret-phrase')).status).toBe(401);
    expect((await loginAs('binh', 'new-secret-phrase')).status).toBe(200);
  });

  it('a display name change keeps sessions and shows the new name', async () => {
    const s = await login(h.url, 'viewer');
    expect((await api(h.url, sessions.admin, 'PATCH', '/api/users/viewer', { displayName: 'Người xem ca ngày' })).status).toBe(200);
    const me = await api(h.url, s, 'GET', '/api/auth/me');
    expect(me.status).toBe(200);
    expect((await me.json()).user.displayName).toBe('Người xem ca ngày');
  });

  it('refuses self lock-out and leaves at least one enabled admin', async () => {
    const self = await api(h.url, sessions.admin, 'PATCH', '/api/users/admin', { disabled: true });
    expect(self.status).toBe(409);
    expect((await self.json()).error).toBe('self_lockout');
    const demote = await api(h.url, sessions.admin, 'PATCH', '/api/users/admin', { role: 'technician' });
    expect(demote.status).toBe(409);
    // Changing one's own password keeps the session it was changed from.
    await createUser({ username: 'admin2', displayName: 'Admin Hai', role: 'admin', password: 'admin-two-password' });
    const a2 = await sessionFor('admin2', 'admin-two-password');
    expect((await api(h.url, a2, 'PATCH', '/api/users/admin2', { password: 'admin-two-password-new' })).status).toBe(200);
    expect((await api(h.url, a2, 'GET', '/api/users')).status).toBe(200);
    // Another admin may demote admin2; then admin2 (now viewer) is refused.
    expect((await api(h.url, sessions.admin, 'PATCH', '/api/users/admin2', { role: 'viewer' })).status).toBe(200);
    expect((await api(h.url, a2, 'GET', '/api/users')).status).toBe(401);
    const list = (await (await api(h.url, sessions.admin, 'GET', '/api/users')).json()) as {
      users: Array<{ role: string; disabled: boolean }>;
    };
    expect(list.users.filter((u) => u.role === 'admin' && !u.disabled)).toHaveLength(1);
  });

  it('answers 404 for an unknown user and 400 for an empty or unknown-field patch', async () => {
    expect((await api(h.url, sessions.admin, 'PATCH', '/api/users/nobody', { disabled: true })).status).toBe(404);
    expect((await api(h.url, sessions.admin, 'PATCH', '/api/users/viewer', {})).status).toBe(400);
    expect((await api(h.url, sessions.admin, 'PATCH', '/api/users/viewer', { passwordHash: 'scrypt$x' })).status).toBe(400);
  });

  it('every admin route refuses non-admin roles (403), anonymous (401) and a missing CSRF header (403 csrf)', async () => {
    for (const r of ADMIN_ROUTES) {
      expect((await api(h.url, null, r.method, r.path, r.body)).status, `${r.method} ${r.path} anonymous`).toBe(401);
      for (const role of ['viewer', 'operator', 'technician'] as RoleName[]) {
        expect((await api(h.url, sessions[role], r.method, r.path, r.body)).status, `${r.method} ${r.path} as ${role}`).toBe(403);
      }
      if (r.method === 'GET') continue;
      const noCsrf = await fetch(`${h.url}${r.path}`, {
        method: r.method,
        headers: { cookie: sessions.admin.cookie, 'content-type': 'application/json' },
        body: JSON.stringify(r.body),
      });
      expect(noCsrf.status).toBe(403);
      expect((await noCsrf.json()).error).toBe('csrf');
    }
    // None of the refused calls changed anything.
    const users = (await (await api(h.url, sessions.admin, 'GET', '/api/users')).json()) as {
      users: Array<{ username: string; disabled: boolean }>;
    };
    expect(users.users.some((u) => u.username === 'x1')).toBe(false);
    expect(users.users.find((u) => u.username === 'viewer')!.disabled).toBe(false);
  });

  it('audits every change with who and what, and never a password or hash', async () => {
    const rows = await auditRows();
    const userRows = rows.filter((r) => r.action.startsWith('user.'));
    expect(userRows.find((r) => r.action === 'user.create' && r.detail.username === 'lan.nguyen')).toMatchObject({
      user: 'admin',
      detail: { role: 'operator' },
    });
    expect(
      userRows.find(
        (r) =>
          r.action === 'user.update' &&
          r.detail.username === 'minh' &&
          (r.detail.changes as { disabled?: { to: boolean } }).disabled?.to === true,
      ),
    ).toMatchObject({ user: 'admin', detail: { changes: { disabled: { from: false, to: true } }, sessionsEnded: 1 } });
    expect(userRows.find((r) => r.detail.username === 'hoa' && r.action === 'user.update')!.detail.changes).toEqual({
      role: { from: 'technician', to: 'viewer' },
    });
    expect(userRows.find((r) => r.detail.username === 'binh' && r.action === 'user.update')!.detail.changes).toEqual({
      passwordReset: true,
    });
    const all = JSON.stringify(rows);
    for (const secret of [
      'ca-truc-dem-2026',
      'ky-thuat-vien-01',
      'old-secret-phrase',
      'new-secret-phrase',
      'admin-two-password',
      'scrypt$',
      ...Object.values(PASSWORDS),
    ])
      expect(all).not.toContain(secret);
  });

  it('accounts changed here survive a restart: the config seed does not overwrite them', async () => {
    await api(h.url, sessions.admin, 'PATCH', '/api/users/operator', { role: 'viewer' });
    await h.restart();
    const admin = await login(h.url, 'admin');
    const { users } = (await (await api(h.url, admin, 'GET', '/api/users')).json()) as { users: Array<{ username: string; role: string }> };
    expect(users.find((u) => u.username === 'operator')!.role).toBe('viewer');
    expect(users.some((u) => u.username === 'lan.nguyen')).toBe(true);
  });
});
