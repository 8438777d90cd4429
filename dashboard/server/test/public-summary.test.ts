import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadLimits } from '@tamky/service-kit';
import { login, startHarness, type Harness } from './helpers';
import { allowedPaths, leafPaths, PUBLIC_MAP_PATHS, publicReadings } from './public-fields';

const T = Date.UTC(2026, 10, 26, 3, 0, 0);
const LIMITS = loadLimits(join(import.meta.dirname, '../../../config/limits'));
const WARD_AREAS = join(import.meta.dirname, '../../../config/tam-ky/wards.geojson');
const PUBLIC_READINGS = publicReadings(T);

describe('GET /api/public/summary with a narrow public config', () => {
  const show: { aqi: Array<'value' | 'color' | 'advice'>; noise: Array<'laeq' | 'limit'> } = {
    aqi: ['value', 'color', 'advice'],
    noise: ['laeq', 'limit'],
  };
  const wards = ['an-my', 'an-phu'];
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      now: () => T + 60_000,
      config: {
        http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080', trustedProxies: ['127.0.0.1'] },
        public: { wards, show, cacheSeconds: 30, perMinutePerAddress: 5 },
        map: { wardAreas: WARD_AREAS, basemap: { type: 'none' }, allowOrigins: [] },
      },
    });
    await h.store.writeBatch(PUBLIC_READINGS);
  });
  afterAll(async () => {
    await h?.close();
  });
  const get = (address: string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${h.url}/api/public/summary${query}`, { headers: { 'x-forwarded-for': address, ...headers } });

  it('sends no field outside the public config, only its wards, without a sign-in', async () => {
    const res = await get('10.0.0.1');
    expect(res.status).toBe(200);
    const body = await res.json();
    const allowed = allowedPaths(show);
    const sent = new Set(leafPaths(body));
    expect(
      [...sent].filter((p) => !allowed.has(p)),
      'fields outside the public config',
    ).toEqual([]);
    expect(body.wards.map((w: { id: string }) => w.id)).toEqual(wards);
    // Not listed: flood, AQI level/name/ts, noise ts; listed ones really are there.
    expect(sent.has('wards[].flood')).toBe(false);
    expect(sent.has('wards[].aqi.color')).toBe(true);
    expect(sent.has('wards[].noise.limit')).toBe(true);
  });

  it('serves the same bytes from cache with an ETag, 304 on a match, while the store changes', async () => {
    const a = await get('10.0.0.2');
    const etag = a.headers.get('etag')!;
    expect(a.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(a.headers.get('content-encoding')).toBe('gzip'); // compressed once per build, not per request
    await h.store.writeBatch([{ ...PUBLIC_READINGS[2]!, ts: T + 1000, values: { laeq: 99 } }]);
    const b = await get('10.0.0.2');
    expect(b.headers.get('etag')).toBe(etag);
    expect(await b.text()).toBe(await a.text());
    const c = await get('10.0.0.2', { 'if-none-match': etag });
    expect(c.status).toBe(304);
  });

  it('answers one ward with ?ward= and 404 for a ward that is not public', async () => {
    const one = await (await get('10.0.0.3', {}, '?ward=an-phu')).json();
    expect(one.wards.map((w: { id: string }) => w.id)).toEqual(['an-phu']);
    expect((await get('10.0.0.3', {}, '?ward=an-son')).status).toBe(404);
  });

  it("GET /api/public/map sends the basemap and the public wards' outlines only, cached like the summary", async () => {
    const res = await fetch(`${h.url}/api/public/map`, { headers: { 'x-forwarded-for': '10.0.1.1' } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(
      leafPaths(body).filter((p) => !PUBLIC_MAP_PATHS.has(p)),
      'fields outside the public map',
    ).toEqual([]);
    expect(body.basemap).toEqual({ type: 'none' });
    expect(body.wardAreas.features.map((f: { properties: { ward: string } }) => f.properties.ward).sort()).toEqual(wards);
    // Served by the fast path with the API's security headers, cacheable, gzipped once, 304 on a match.
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('set-cookie')).toBeNull();
    const again = await fetch(`${h.url}/api/public/map`, {
      headers: { 'x-forwarded-for': '10.0.1.1', 'if-none-match': res.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    expect((await fetch(`${h.url}/api/public/map?wards=all`, { headers: { 'x-forwarded-for': '10.0.1.1' } })).status).toBe(400);
    const head = await fetch(`${h.url}/api/public/summary`, { method: 'HEAD', headers: { 'x-forwarded-for': '10.0.1.1' } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('rate limits each address (429 with Retry-After) and not the others', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await get('10.0.0.9')).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    const limited = await get('10.0.0.9');
    expect(limited.headers.get('retry-after')).toBe('60');
    // The map shares the address's bucket: a crowd cannot double its allowance by alternating endpoints.
    expect((await fetch(`${h.url}/api/public/map`, { headers: { 'x-forwarded-for': '10.0.0.9' } })).status).toBe(429);
    expect((await get('10.0.0.10')).status).toBe(200);
  });
});

describe('GET /api/public/summary with every kind public', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ now: () => T + 60_000, config: { public: { show: { aqi: [], noise: [], flood: [] } } } });
    await h.store.writeBatch(PUBLIC_READINGS);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives VN_AQI with the official colour, name and advice of its level from config/limits, noise vs limit, flood level', async () => {
    const body = await (await fetch(`${h.url}/api/public/summary`)).json();
    expect(body.wards).toHaveLength(h.city.wards.length);
    const anMy = body.wards.find((w: { id: string }) => w.id === 'an-my');
    const bad = LIMITS.vnAqi.levels.find((l) => l.id === 'bad')!;
    expect(anMy.aqi).toMatchObject({ value: 162, level: 'bad', name: { vi: bad.vi, en: bad.en }, advice: bad.advice });
    expect(anMy.aqi.color).toBe(`#${bad.rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`);
    expect(anMy.noise.laeq).toBe(74);
    expect(anMy.noise.limit).toBeGreaterThan(0);
    const anPhu = body.wards.find((w: { id: string }) => w.id === 'an-phu');
    const levels = h.city.devices.find((d) => d.id === 'an-phu-water-1')!.alarmLevels!;
    expect(anPhu.flood).toMatchObject({ level: 3.2, stages: levels.length, stage: levels.filter((l) => 3.2 >= l).length });
    expect(anPhu.aqi).toBeNull();
    expect(new Set(leafPaths(body)).size).toBeGreaterThan(0);
    for (const p of leafPaths(body)) expect(allowedPaths({ aqi: [], noise: [], flood: [] }).has(p), p).toBe(true);
  });

  it('is the same for a signed-in operator: the public answer never depends on who asks', async () => {
    const s = await login(h.url, 'admin');
    const a = await (await fetch(`${h.url}/api/public/summary`, { headers: { cookie: s.cookie } })).text();
    const b = await (await fetch(`${h.url}/api/public/summary`)).text();
    expect(a).toBe(b);
  });
});
