import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { join } from 'node:path';
import { openStore } from '@tamky/store';
import { createLogger } from '@tamky/service-kit';
import { startMosquitto, tempDir } from '@tamky/test-support';
import { startDashboard, type DashboardConfig } from '../../src/index';
import { api, loadCity, login, PASSWORDS, startHarness, type Harness } from '../helpers';

/**
 * M4 of issue #14: X-Forwarded-For counts only when a configured proxy added it. Otherwise anyone reaching
 * the port directly picks a new "address" per guess (no per-address limit) and writes any IP into the audit log.
 */
const loginFrom = (url: string, forwardedFor: string, password: string, username = 'admin') =>
  fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ username, password }),
  });

async function auditIps(h: Harness, action: string): Promise<unknown[]> {
  const admin = await login(h.url, 'admin');
  const res = await api(h.url, admin, 'GET', '/api/audit?limit=500');
  const body = (await res.json()) as
    { entries?: Array<{ action: string; detail: { ip?: unknown } }> } | Array<{ action: string; detail: { ip?: unknown } }>;
  const entries = Array.isArray(body) ? body : (body.entries ?? []);
  return entries.filter((e) => e.action === action).map((e) => e.detail.ip);
}

describe('no proxy configured: the socket peer is the client', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { login: { maxFailures: 1000, maxFailuresPerAddress: 3, windowMinutes: 15 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the audit log records the real peer, not the header', async () => {
    expect((await loginFrom(h.url, '198.51.100.77', PASSWORDS.admin)).status).toBe(200);
    const ips = await auditIps(h, 'auth.login');
    expect(ips.length).toBeGreaterThan(0);
    for (const ip of ips) expect(String(ip)).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });

  it('a spoofed X-Forwarded-For per guess does not escape the per-address limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await loginFrom(h.url, `203.0.113.${i + 1}`, 'wrong', 'viewer')).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });
});

describe('a configured proxy: its X-Forwarded-For is believed, hop by hop', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      config: {
        http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080', trustedProxies: ['127.0.0.1'] },
        login: { maxFailures: 1000, maxFailuresPerAddress: 2, windowMinutes: 15 },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the client address is the nearest hop the proxy did not vouch for: a forged left-most entry is ignored', async () => {
    expect((await loginFrom(h.url, '6.6.6.6, 198.51.100.20', PASSWORDS.admin)).status).toBe(200);
    expect(await auditIps(h, 'auth.login')).toContain('198.51.100.20');
    expect(await auditIps(h, 'auth.login')).not.toContain('6.6.6.6');
  });

  it('a client reaching the port directly (not from the proxy) cannot forge its address', async () => {
    // Loopback has the whole 127/8: 127.0.0.2 is "a client on the LAN" while the proxy is 127.0.0.1.
    const status = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ username: 'admin', password: PASSWORDS.admin });
      const req = request(
        `${h.url}/api/auth/login`,
        { method: 'POST', localAddress: '127.0.0.2', headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.40' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    const ips = await auditIps(h, 'auth.login');
    expect(ips).not.toContain('198.51.100.40');
    expect(ips.map(String).some((ip) => /^(::ffff:)?127\.0\.0\.2$/.test(ip))).toBe(true);
  });

  it('per-address limits apply to each client behind the proxy', async () => {
    const a = [];
    for (let i = 0; i < 3; i++) a.push((await loginFrom(h.url, `${i}.1.1.1, 198.51.100.30`, 'wrong', 'viewer')).status);
    expect(a).toEqual([401, 401, 429]);
    expect((await loginFrom(h.url, '198.51.100.31', 'wrong', 'viewer')).status).toBe(401);
  });
});

describe('configuration', () => {
  it('refuses the old hop-count trustProxy, naming its replacement', async () => {
    const broker = await startMosquitto();
    const dir = tempDir('trust-proxy-config');
    const store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') });
    try {
      const config = {
        http: { host: '127.0.0.1', port: 0, trustProxy: 1 },
        mqtt: { url: broker.url },
        stateDb: join(dir, 'state.db'),
      } as unknown as DashboardConfig;
      await expect(startDashboard(config, { store, city: loadCity(), logger: createLogger('t', { level: 'silent' }) })).rejects.toThrow(
        /trustedProxies/,
      );
      const bad = {
        http: { host: '127.0.0.1', port: 0, trustedProxies: ['not-an-address'] },
        mqtt: { url: broker.url },
        stateDb: join(dir, 'state.db'),
      } as DashboardConfig;
      await expect(startDashboard(bad, { store, city: loadCity(), logger: createLogger('t', { level: 'silent' }) })).rejects.toThrow(
        /CIDR/,
      );
    } finally {
      await store.close();
      await broker.stop();
    }
  });
});
