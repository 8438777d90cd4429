import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { StoredReading } from '@tamky/protocol';
import { openStore } from '@tamky/store';
import { createLogger } from '@tamky/service-kit';
import { startMosquitto, tempDir } from '@tamky/test-support';
import { startDashboard } from '../../src/index';
import { api, loadCity, login, METRICS_TOKEN, startHarness, type Harness, type Session } from '../helpers';

/**
 * Low items of issue #14 on the HTTP surface: /metrics and /api/openapi.json were public on the dashboard
 * port, `kind` was reflected into Content-Disposition, `fields=constructor` answered 500 (DataCloneError)
 * and `fields=__proto__` answered `{}` values.
 */
let h: Harness;
let viewer: Session;
const T0 = Date.now() - 3_600_000;

beforeAll(async () => {
  h = await startHarness({ config: { metrics: { host: '127.0.0.1', token: METRICS_TOKEN } } });
  viewer = await login(h.url, 'viewer');
  const reading = (i: number): StoredReading => ({
    kind: 'noise_meter',
    device: 'an-my-noise-1',
    gateway: 'gw-an-my',
    ward: 'an-my',
    ts: T0 + i * 60_000,
    seq: i,
    values: { laeq: 50 + i },
  });
  await h.store.writeBatch([reading(0), reading(1), reading(2)]);
});
afterAll(async () => {
  await h?.close();
});

describe('/metrics and /api/openapi.json', () => {
  it('/metrics on the dashboard port answers only to the bearer token', async () => {
    expect((await fetch(`${h.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${h.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // A signed-in user is not enough: metrics are for the monitoring system.
    expect((await fetch(`${h.url}/metrics`, { headers: { cookie: viewer.cookie } })).status).toBe(401);
    const ok = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('dashboard_http_request_duration_seconds');
  });

  it('/metrics on a port of its own is not served on the dashboard port at all; without either it is nowhere', async () => {
    const broker = await startMosquitto();
    const dir = tempDir('metrics-port');
    const store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') });
    const logger = createLogger('t', { level: 'silent' });
    const base = {
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url, clientId: 'metrics-port-test' },
      stateDb: join(dir, 'state.db'),
    };
    try {
      const own = await startDashboard({ ...base, metrics: { port: 0, host: '127.0.0.1' } }, { store, city: loadCity(), logger });
      try {
        expect(own.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
        expect(await (await fetch(own.metricsUrl!)).text()).toContain('dashboard_http_request_duration_seconds');
        const onMain = await fetch(`${own.url}/metrics`);
        expect(onMain.status).toBe(404);
        expect(await onMain.text()).not.toContain('dashboard_');
      } finally {
        await own.close();
      }
      const none = await startDashboard({ ...base, stateDb: join(dir, 'state2.db') }, { store, city: loadCity(), logger });
      try {
        expect(none.metricsUrl).toBeUndefined();
        expect((await fetch(`${none.url}/metrics`)).status).toBe(404);
      } finally {
        await none.close();
      }
    } finally {
      await store.close();
      await broker.stop();
    }
  });

  it('/api/openapi.json needs a session (any role)', async () => {
    expect((await fetch(`${h.url}/api/openapi.json`)).status).toBe(401);
    const res = await api(h.url, viewer, 'GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect((await res.json()).paths['/api/openapi.json'].get['x-role']).toBe('any');
  });
});

describe('history query input', () => {
  const history = (query: string, path = '/api/history') => api(h.url, viewer, 'GET', `${path}?${query}`);
  const range = `from=${T0 - 60_000}&to=${T0 + 3_600_000}`;

  it('`kind` cannot reach Content-Disposition: a header-breaking kind is refused, a good one gives a plain file name', async () => {
    for (const kind of ['x"; filename="evil.exe', 'x\r\nSet-Cookie: a=b', '../../etc/passwd', 'x%22%3B%20filename%3Devil.exe']) {
      const res = await history(`kind=${encodeURIComponent(kind)}&fields=laeq&${range}`, '/api/history.csv');
      expect(res.status, kind).toBe(400);
      expect(res.headers.get('content-disposition')).toBeNull();
    }
    const ok = await history(`kind=noise_meter&fields=laeq&${range}`, '/api/history.csv');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toMatch(
      /^attachment; filename="noise_meter_\d{4}-\d{2}-\d{2}(_\d{4}-\d{2}-\d{2})?\.csv"$/,
    );
    expect((await ok.text()).split('\n').filter((l) => l.includes('laeq'))).toHaveLength(3);
  });

  it('fields=constructor (an Object.prototype member that fits the field-name rule) answers 200 with no series, never 500', async () => {
    for (const field of ['constructor']) {
      for (const windowed of ['', '&windowMs=60000']) {
        const res = await history(`kind=noise_meter&fields=${field}&${range}${windowed}`);
        expect(res.status, `${field}${windowed}`).toBe(200);
        expect((await res.json()).series, field).toEqual([]);
      }
    }
    // The real field next to it still works.
    const res = await history(`kind=noise_meter&fields=constructor,laeq&${range}`);
    expect(
      ((await res.json()) as { series: Array<{ field: string; points: unknown[] }> }).series.map((s) => [s.field, s.points.length]),
    ).toEqual([['laeq', 3]]);
  });

  it('fields=__proto__ and other names outside the field-name rule are refused with 400', async () => {
    for (const field of ['__proto__', 'constructor.prototype', 'Laeq', 'a b', 'x'.repeat(65)]) {
      const res = await history(`kind=noise_meter&fields=${encodeURIComponent(field)}&${range}`);
      expect(res.status, field).toBe(400);
      expect((await res.json()).error).toBe('bad_request');
    }
    expect((await history(`kind=__proto__&fields=laeq&${range}`)).status).toBe(400);
    expect((await api(h.url, viewer, 'GET', '/api/latest?kind=__proto__')).status).toBe(400);
  });
});
