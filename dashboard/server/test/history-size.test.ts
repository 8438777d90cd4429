import { get } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RangeQuery, Series, StoredReading } from '@tamky/protocol';
import { api, login, startHarness, type Harness, type Session } from './helpers';

// What a history answer costs the client: compressed on the wire, never more points per series than the chart's pixels.
const MIN = 60_000;
const DAY = 86_400_000;
const TO = Date.UTC(2025, 5, 2, 0, 0, 0);
const FROM = TO - DAY;
const DEVICES = ['an-my-noise-1', 'an-my-noise-2', 'an-phu-noise-1'];
let h: Harness;
let viewer: Session;

beforeAll(async () => {
  h = await startHarness({ now: () => TO });
  const readings: StoredReading[] = [];
  for (let ts = FROM; ts <= TO; ts += MIN)
    for (const [i, device] of DEVICES.entries())
      readings.push({
        kind: 'noise_meter',
        device,
        gateway: 'gw-an-my',
        ward: 'an-my',
        ts,
        seq: (ts - FROM) / MIN,
        values: { laeq: 50 + ((ts / MIN + i) % 17), lmax: 70 },
      });
  for (let i = 0; i < readings.length; i += 2000) await h.store.writeBatch(readings.slice(i, i + 2000));
  viewer = await login(h.url, 'viewer');
});
afterAll(() => h?.close());

/** A plain node:http GET, so the test sees the bytes and headers on the wire (fetch would decompress them). */
function rawGet(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(`${h.url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('history answers', () => {
  const path = `/api/history?kind=noise_meter&fields=laeq,lmax&from=${FROM}&to=${TO}&windowMs=${MIN}&aggregate=mean`;

  it('are gzip-compressed on the wire when the client accepts it (JSON and CSV)', async () => {
    for (const p of [path, path.replace('/api/history?', '/api/history.csv?')]) {
      const res = await rawGet(p, { cookie: viewer.cookie, 'accept-encoding': 'gzip' });
      expect(res.status).toBe(200);
      expect(res.headers['content-encoding']).toBe('gzip');
      const plain = gunzipSync(res.body);
      expect(res.body.length).toBeLessThan(plain.length / 3);
      if (p === path) expect((JSON.parse(plain.toString('utf8')) as { series: Series[] }).series).toHaveLength(DEVICES.length * 2);
    }
    // A client that does not accept gzip still gets plain JSON.
    const plain = await rawGet(path, { cookie: viewer.cookie, 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(
      (await rawGet(path, { cookie: viewer.cookie, 'accept-encoding': 'br;q=0, gzip;q=0' })).headers['content-encoding'],
    ).toBeUndefined();
    expect((JSON.parse(plain.body.toString('utf8')) as { series: Series[] }).series).toHaveLength(DEVICES.length * 2);
  });

  it('are brotli-compressed for browsers, with their length, and decompress to the plain answer', async () => {
    const plain = (await rawGet(path, { cookie: viewer.cookie, 'accept-encoding': 'identity' })).body;
    const cases: Array<[string, string, (b: Buffer) => Buffer]> = [
      ['gzip, deflate, br, zstd', 'br', brotliDecompressSync], // what Chromium sends
      ['br;q=0, gzip', 'gzip', gunzipSync],
      ['gzip;q=0.5, br;q=0.2', 'gzip', gunzipSync], // the client's weights win
      ['*', 'br', brotliDecompressSync],
      ['identity, *;q=0.5', 'br', brotliDecompressSync],
    ];
    for (const [accept, encoding, decompress] of cases) {
      const res = await rawGet(path, { cookie: viewer.cookie, 'accept-encoding': accept });
      expect(res.status, accept).toBe(200);
      expect(res.headers['content-encoding'], accept).toBe(encoding);
      expect(res.headers['vary'], accept).toMatch(/accept-encoding/i);
      expect(Number(res.headers['content-length']), accept).toBe(res.body.length);
      expect(res.body.length, accept).toBeLessThan(plain.length / 3);
      expect(decompress(res.body).equals(plain), accept).toBe(true);
    }
  });

  it('have no more points per series than the chart width in pixels', async () => {
    for (const width of [1, 2, 37, 300, 1024, 1440, 1441, 4000])
      for (const windowMs of [undefined, MIN, 3_600_000]) {
        const q = `/api/history?kind=noise_meter&fields=laeq,lmax&from=${FROM}&to=${TO}&width=${width}${windowMs ? `&windowMs=${windowMs}` : ''}`;
        const res = await api(h.url, viewer, 'GET', q);
        expect(res.status).toBe(200);
        const { series } = (await res.json()) as { series: Series[] };
        expect(series).toHaveLength(DEVICES.length * 2);
        for (const s of series) {
          expect(s.points.length).toBeGreaterThan(0);
          expect(s.points.length).toBeLessThanOrEqual(width);
        }
        // A window the chart can show is kept as asked: an hour over a day is 25 windows.
        if (windowMs === 3_600_000 && width >= 25) expect(series[0]!.points).toHaveLength(25);
        // Wide charts get every minute when asked for minutes.
        if (windowMs === MIN && width >= 1441) expect(series[0]!.points).toHaveLength(1441);
      }
  });

  it('are, byte for byte, the store answer as JSON.stringify writes it (encoded from columns)', async () => {
    const cases: Array<[string, RangeQuery]> = [
      [path, { kind: 'noise_meter', fields: ['laeq', 'lmax'], from: FROM, to: TO, windowMs: MIN, aggregate: 'mean' }],
      [
        `/api/history?kind=noise_meter&fields=laeq&from=${FROM}&to=${TO}&windowMs=${3 * MIN}&aggregate=max&devices=an-my-noise-2`,
        { kind: 'noise_meter', fields: ['laeq'], from: FROM, to: TO, windowMs: 3 * MIN, aggregate: 'max', devices: ['an-my-noise-2'] },
      ],
      [
        `/api/history?kind=noise_meter&fields=laeq&from=${TO - 3_600_000}&to=${TO}`,
        { kind: 'noise_meter', fields: ['laeq'], from: TO - 3_600_000, to: TO },
      ],
    ];
    for (const [p, q] of cases) {
      const res = await rawGet(p, { cookie: viewer.cookie, 'accept-encoding': 'identity' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const series = await h.store.query(q);
      expect(series.length).toBeGreaterThan(0);
      // A windowed answer also says its window (historyAnswerSchema), after the series.
      expect(res.body.toString('utf8')).toBe(JSON.stringify({ series, ...(q.windowMs !== undefined ? { windowMs: q.windowMs } : {}) }));
    }
  });

  it('refuse a width that is not a positive pixel count', async () => {
    for (const width of ['0', '-5', 'abc', '100000']) {
      const res = await api(h.url, viewer, 'GET', `/api/history?kind=noise_meter&fields=laeq&from=${FROM}&to=${TO}&width=${width}`);
      expect(res.status).toBe(400);
    }
  });
});
