import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { login as apiLogin, startHarness, type Harness } from '../../server/test/helpers';
import { allowedPaths, leafPaths, PUBLIC_MAP_PATHS, publicReadings } from '../../server/test/public-fields';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser, REPO_DIR } from './browser';

/**
 * The residents' page on the real server (built app, real store, real SQLite) in Debian Chromium at a
 * phone's size: what it fetches and shows stays inside the `public:` config, it reads Vietnamese first and
 * switches to English, the public wards are on the geographic map (MapLibre, the operators' component) where
 * their coordinates project, in their VN_AQI colour, and axe-core finds nothing serious.
 */
const T = Date.now() - 60_000;
const PORTAL = 'https://portal.tamky.example';
const SHOW = { aqi: ['value', 'level', 'name', 'color', 'advice'], noise: ['laeq', 'limit'], flood: ['stage', 'stages'] } as const;
const WARDS = ['an-my', 'an-phu', 'an-son'];

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  h = await startHarness({
    config: {
      webDist: DIST_DIR,
      map: { wardAreas: join(REPO_DIR, 'config/tam-ky/wards.geojson'), basemap: { type: 'none' }, allowOrigins: [] },
      public: {
        wards: WARDS,
        show: { ...SHOW, aqi: [...SHOW.aqi], noise: [...SHOW.noise], flood: [...SHOW.flood] },
        embedOrigins: [PORTAL],
      },
    },
  });
  await h.store.writeBatch(publicReadings(T));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('/public on a 390×844 phone', () => {
  it('asks the server only for the public summary, receives only public fields, shows them in Vietnamese first', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2, bypassCSP: true }); // bypassCSP: axe-core is injected inline
    page.setDefaultTimeout(20_000);
    // A resident who is also an operator: the page must not send the session along.
    const s = await apiLogin(h.url, 'admin');
    await page.context().addCookies([{ name: 'sid', value: s.cookie.split('=')[1]!, url: h.url }]);
    const apiCalls: string[] = [];
    const sentCookies: string[] = [];
    const bodies: unknown[] = [];
    const mapBodies: unknown[] = [];
    const scripts: string[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/') || url.pathname === '/ws') apiCalls.push(`${req.method()} ${url.pathname}`);
      if (req.resourceType() === 'script') scripts.push(url.pathname);
      if (url.pathname.startsWith('/api/') && req.headers().cookie) sentCookies.push(url.pathname);
    });
    page.on('response', async (res) => {
      const path = new URL(res.url()).pathname;
      if (path === '/api/public/summary' && res.status() === 200) bodies.push(await res.json());
      if (path === '/api/public/map' && res.status() === 200) mapBodies.push(await res.json());
    });
    await page.goto(`${h.url}/public`);
    await page.getByRole('heading', { level: 1, name: 'Môi trường Tam Kỳ hôm nay' }).waitFor();
    await page.locator('article.ward').first().waitFor();
    // The map (MapLibre: most of the page's bytes) loads only when scrolled to: a first look downloads none of it.
    await page.waitForLoadState('networkidle');
    expect(apiCalls).not.toContain('GET /api/public/map');
    expect(scripts.filter((u) => /maplibre|\/map-[^/]*\.js$/.test(u))).toEqual([]);
    await page.locator('section.map').scrollIntoViewIfNeeded();
    await page.locator('.geo-map-canvas[data-ready="true"]').waitFor();
    await page.evaluate(
      () =>
        new Promise<void>((done) => {
          const map = (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre;
          if (map.loaded()) done();
          else map.once('idle', () => done());
        }),
    );

    expect(await page.evaluate(() => document.documentElement.lang)).toBe('vi');
    expect([...new Set(apiCalls)].sort()).toEqual(['GET /api/public/map', 'GET /api/public/summary']);
    expect(sentCookies).toEqual([]);
    expect(bodies.length).toBeGreaterThan(0);
    const allowed = allowedPaths(SHOW);
    for (const body of bodies)
      expect(
        leafPaths(body).filter((p) => !allowed.has(p)),
        'fields outside the public config',
      ).toEqual([]);

    expect(mapBodies.length).toBeGreaterThan(0);
    for (const body of mapBodies)
      expect(
        leafPaths(body).filter((p) => !PUBLIC_MAP_PATHS.has(p)),
        'fields outside the public map',
      ).toEqual([]);

    // Only the public wards, as a list and on the map; values and advice from the summary.
    const names = await page.locator('article.ward h3').allTextContents();
    expect(names).toEqual(WARDS.map((id) => h.city.wards.find((w) => w.id === id)!.name));
    // Each public ward's centre, projected by the map's own projection, lands on that ward's drawn area, filled
    // with the colour its summary carries; no other ward's area is drawn.
    const summary = bodies[0] as { wards: Array<{ id: string; lat: number; lon: number; aqi?: { color?: string } | null }> };
    const drawn = await page.evaluate((wards) => {
      const map = (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre;
      const all = map.querySourceFeatures('wards').map((f) => String(f.properties.ward));
      const at = wards.map((w) => {
        const p = map.project([w.lon, w.lat]);
        const inside = p.x >= 0 && p.y >= 0 && p.x <= map.getCanvas().clientWidth && p.y <= map.getCanvas().clientHeight;
        const f = map.queryRenderedFeatures(p, { layers: ['ward-fill'] })[0];
        return { id: w.id, inside, ward: f ? String(f.properties.ward) : null, color: f ? (f.properties.fill ?? null) : null };
      });
      return { all: [...new Set(all)].sort(), at };
    }, summary.wards);
    expect(drawn.all).toEqual([...WARDS].sort());
    const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
    expect(drawn.at).toEqual(
      summary.wards.map((w) => ({ id: w.id, inside: true, ward: w.id, color: w.aqi?.color ? rgb(w.aqi.color) : null })),
    );
    const anMy = page.locator('article.ward', { has: page.getByRole('heading', { name: 'An Mỹ' }) });
    await expect(anMy.locator('.aqi').textContent()).resolves.toContain('162 · Xấu');
    await expect(anMy.locator('.over').textContent()).resolves.toContain('Vượt giới hạn QCVN 26');
    const anPhu = page.locator('article.ward', { has: page.getByRole('heading', { name: 'An Phú' }) });
    await expect(anPhu.textContent()).resolves.toMatch(/Báo động cấp \d\/\d/);
    // Not public in this config: the water level in metres.
    await expect(anPhu.textContent()).resolves.not.toMatch(/Mực nước/);

    await expectAccessible(page, 'public-vi');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${REPO_DIR}test-artifacts/public-390x844.png` });
    await page.locator('section.map').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${REPO_DIR}test-artifacts/public-390x844-map.png` });

    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tam Kỳ environment today' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await expect(anMy.locator('.aqi').textContent()).resolves.toContain('162 · Bad');
    await expectAccessible(page, 'public-en');
    await page.screenshot({ path: `${REPO_DIR}test-artifacts/public-390x844-en.png` });
    await page.close();
  });

  it('/public/embed?ward= shows one ward compactly, may be framed by the portal only, and is accessible', async () => {
    const embed = await fetch(`${h.url}/public/embed?ward=an-phu`);
    expect(embed.headers.get('content-security-policy')).toContain(`frame-ancestors 'self' ${PORTAL}`);
    expect(embed.headers.get('x-frame-options')).toBeNull();
    const page = await fetch(`${h.url}/public`);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');

    const widget = await browser.newPage({ viewport: { width: 360, height: 320 }, isMobile: true, bypassCSP: true });
    widget.setDefaultTimeout(20_000);
    await widget.goto(`${h.url}/public/embed?ward=an-phu`);
    await widget.getByRole('heading', { level: 2, name: 'An Phú' }).waitFor();
    expect(await widget.locator('article.ward').count()).toBe(1);
    await expectAccessible(widget, 'public-embed');
    await widget.screenshot({ path: `${REPO_DIR}test-artifacts/public-embed.png` });
    await widget.close();
  });
});
