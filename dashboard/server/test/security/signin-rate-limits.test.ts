import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api, KIOSK_TOKEN, login, PASSWORDS, startHarness, type Harness } from '../helpers';

/**
 * M1 of issue #14: every way of signing in counts the attempt before the scrypt check, so parallel guesses
 * cannot all run while the count is still zero. Real server, real scrypt, parallel requests on real sockets.
 * Each test speaks from its own client address (X-Forwarded-For from the configured proxy, 127.0.0.1).
 */
const MAX_PER_USER = 4;
const MAX_PER_ADDRESS = 6;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    config: {
      http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080', trustedProxies: ['127.0.0.1'] },
      login: { maxFailures: MAX_PER_USER, maxFailuresPerAddress: MAX_PER_ADDRESS, windowMinutes: 15 },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const from = (address: string) => ({ 'x-forwarded-for': address, 'content-type': 'application/json' });
const post = (path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${h.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((t, s) => ((t[s] = (t[s] ?? 0) + 1), t), {});

describe('sign-in limits hold against parallel guesses', () => {
  it('login: 200 parallel wrong passwords for one user → at most the per-user limit reach scrypt, the rest get 429', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post('/api/auth/login', { username: 'operator', password: `guess-${i}` }, from('198.51.100.1')),
      ),
    );
    const counts = tally(results.map((r) => r.status));
    expect(counts).toEqual({ 401: MAX_PER_USER, 429: 200 - MAX_PER_USER });
    const refused = results.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await refused.json()).error).toBe('too_many_attempts');
    // The right password is refused too while the account is locked, from any address.
    expect((await post('/api/auth/login', { username: 'operator', password: PASSWORDS.operator }, from('198.51.100.2'))).status).toBe(429);
  });

  it('login: guesses spread over usernames from one address stop at the per-address limit', async () => {
    // Names of no account: a real one among them could be counted here and be locked for the next test.
    const users = ['nobody-1', 'nobody-2', 'nobody-3', 'nobody-4', 'nobody-5', 'nobody-6', 'nobody-7', 'nobody-8'];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post('/api/auth/login', { username: users[i % users.length], password: `guess-${i}` }, from('198.51.100.3')),
      ),
    );
    const counts = tally(results.map((r) => r.status));
    expect(counts[401]).toBeLessThanOrEqual(MAX_PER_ADDRESS);
    expect(counts[429]).toBeGreaterThanOrEqual(200 - MAX_PER_ADDRESS);
    expect(counts[401]! + counts[429]!).toBe(200);
  });

  it('a correct password forgives its own attempt: the user signs in after a few failures from another address', async () => {
    for (let i = 0; i < 3; i++)
      expect((await post('/api/auth/login', { username: 'viewer', password: 'wrong' }, from('198.51.100.4'))).status).toBe(401);
    expect((await post('/api/auth/login', { username: 'viewer', password: PASSWORDS.viewer }, from('198.51.100.5'))).status).toBe(200);
  });

  it('kiosk: 200 parallel wrong tokens → at most the per-address limit reach scrypt, the rest get 429', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => post('/api/auth/kiosk', { token: `not-the-token-${i}` }, from('198.51.100.6'))),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 401: MAX_PER_ADDRESS, 429: 200 - MAX_PER_ADDRESS });
    expect((await post('/api/auth/kiosk', { token: KIOSK_TOKEN }, from('198.51.100.6'))).status).toBe(429);
    expect((await post('/api/auth/kiosk', { token: KIOSK_TOKEN }, from('198.51.100.7'))).status).toBe(200);
  });

  it('password change: 200 parallel wrong current passwords on a stolen session → at most the per-user limit, the rest 429', async () => {
    const s = await login(h.url, 'technician');
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(
          '/api/auth/password',
          { currentPassword: `guess-${i}`, newPassword: 'a-new-password-123' },
          { ...from('198.51.100.8'), cookie: s.cookie, 'x-csrf-token': s.csrf },
        ),
      ),
    );
    expect(tally(results.map((r) => r.status))).toEqual({ 400: MAX_PER_USER, 429: 200 - MAX_PER_USER });
    // The password did not change.
    expect((await api(h.url, s, 'GET', '/api/auth/me')).status).toBe(200);
  });

  it('kiosk tokens over the WebSocket: parallel wrong tokens are limited per address (429 on the upgrade)', async () => {
    const wsUrl = `${h.url.replace(/^http/, 'ws')}/ws`;
    const open = (token: string, address: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${wsUrl}?kiosk=${encodeURIComponent(token)}`, { headers: { 'x-forwarded-for': address } });
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.once('error', () => resolve(-1));
      });
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => open(`not-the-token-${i}`, '198.51.100.9')));
    expect(tally(statuses)).toEqual({ 401: MAX_PER_ADDRESS, 429: 100 - MAX_PER_ADDRESS });
    // The address is blocked for the right token too, over HTTP and WebSocket alike; another address is not.
    expect(await open(KIOSK_TOKEN, '198.51.100.9')).toBe(429);
    expect((await post('/api/auth/kiosk', { token: KIOSK_TOKEN }, from('198.51.100.9'))).status).toBe(429);
    expect(await open(KIOSK_TOKEN, '198.51.100.10')).toBe(101);
  });
});
