import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { api, cookieOf, KIOSK_TOKEN, login, startHarness, wsClient, type Harness } from '../helpers';

/**
 * Low items of issue #14 about the live feed and kiosk links: a socket authenticated once at upgrade must
 * not outlive its session (logout, expiry), and a ?kiosk= link must not replace an operator's session.
 */
const closed = (ws: WebSocket, timeoutMs = 15_000) =>
  new Promise<{ code: number } | 'still open'>((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve({ code: -1 });
    const t = setTimeout(() => resolve('still open'), timeoutMs);
    ws.once('close', (code) => {
      clearTimeout(t);
      resolve({ code });
    });
  });

describe('live feed and sessions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('logout closes the sockets opened with that session, and only those', async () => {
    const a = await login(h.url, 'operator');
    const b = await login(h.url, 'operator');
    const feedA = await wsClient(h.url, { cookie: a.cookie });
    const feedB = await wsClient(h.url, { cookie: b.cookie });
    await feedA.next((f) => f.type === 'hello', 'hello A');
    await feedB.next((f) => f.type === 'hello', 'hello B');
    const closing = closed(feedA.ws);
    expect((await api(h.url, a, 'POST', '/api/auth/logout', {})).status).toBe(204);
    expect(await closing).toEqual({ code: 4401 });
    expect(feedB.ws.readyState).toBe(feedB.ws.OPEN);
    feedB.ws.close();
  });

  it('a ?kiosk= link does not replace a signed-in operator session (HTTP and WebSocket)', async () => {
    const op = await login(h.url, 'operator');
    const res = await fetch(`${h.url}/api/auth/kiosk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: op.cookie },
      body: JSON.stringify({ token: KIOSK_TOKEN }),
    });
    expect(res.status).toBe(409);
    expect((await res.json()).error).toBe('signed_in');
    expect(res.headers.get('set-cookie')).toBeNull();
    const me = await api(h.url, op, 'GET', '/api/auth/me');
    expect((await me.json()).user.username).toBe('operator');
    // The web app also appends ?kiosk= to the feed URL: the operator's own session wins.
    const feed = await wsClient(h.url, { cookie: op.cookie, query: `?kiosk=${encodeURIComponent(KIOSK_TOKEN)}` });
    expect((await feed.next((f) => f.type === 'hello', 'hello')).user).toEqual({ username: 'operator', role: 'operator' });
    feed.ws.close();
    // A browser without a session (or with a kiosk session) still becomes a wall screen.
    const wall = await fetch(`${h.url}/api/auth/kiosk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: KIOSK_TOKEN }),
    });
    expect(wall.status).toBe(200);
    const again = await fetch(`${h.url}/api/auth/kiosk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookieOf(wall) },
      body: JSON.stringify({ token: KIOSK_TOKEN }),
    });
    expect(again.status).toBe(200);
  });
});

describe('session expiry', () => {
  let h: Harness;
  beforeAll(async () => {
    // Sessions of ten seconds: the socket must close when its session ends, with nobody calling logout.
    h = await startHarness({ config: { session: { ttlHours: 10 / 3600, secureCookies: false } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('closes the socket when its session expires', async () => {
    const s = await login(h.url, 'viewer');
    const feed = await wsClient(h.url, { cookie: s.cookie });
    await feed.next((f) => f.type === 'hello', 'hello');
    expect(await closed(feed.ws, 40_000)).toEqual({ code: 4401 });
    expect((await api(h.url, s, 'GET', '/api/auth/me')).status).toBe(401);
  });
});
