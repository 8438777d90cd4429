import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, tempDir } from '@tamky/test-support';
import { vi as VI } from '../src/i18n/dict';
import { PASSWORDS, startHarness, type Harness } from '../../server/test/helpers';
import { DIST_DIR, ensureBuilt, REPO_DIR, screenshot } from './browser';
import { oneTilePmtiles, solidPng } from './pmtiles-fixture';

/**
 * The geographic map (MapLibre) in Debian chromium against the real dashboard server: devices where their
 * coordinates project, a click drills down, the plain-background mode with every non-local request refused,
 * a PMTiles basemap served by the dashboard, and the schematic with a notice where WebGL is missing.
 */
const WARD_AREAS = join(REPO_DIR, 'config/tam-ky/wards.geojson');
const POLL = { timeout: 20_000 };

type Role = keyof typeof PASSWORDS;
async function signIn(page: Page, url: string, role: Role, path: string): Promise<void> {
  await page.goto(`${url}${path}`);
  await page.getByLabel('Tên đăng nhập').fill(role);
  await page.getByLabel('Mật khẩu').fill(PASSWORDS[role]);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('user').waitFor({ state: 'attached', timeout: 20_000 });
}

/** Refuses every request that is not to the dashboard on 127.0.0.1; returns the refused URLs. */
async function offline(page: Page): Promise<string[]> {
  const refused: string[] = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    refused.push(url.href);
    return route.abort('internetdisconnected');
  });
  return refused;
}

/** Waits for the map to have drawn its overlay and settled (the devices source parsed, tiles placed). */
async function mapIdle(page: Page): Promise<void> {
  await page.locator('.geo-map-canvas[data-ready="true"]').waitFor(POLL);
  await page.evaluate(
    () =>
      new Promise<void>((done) => {
        const map = (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre;
        if (map.loaded() && map.areTilesLoaded()) done();
        else map.once('idle', () => done());
      }),
  );
}

interface Projected {
  id: string;
  ward: string;
  x: number;
  y: number;
  /** Device ids the map drew within 2 px of that point (read back from the rendered layer). */
  drawn: string[];
}

/** Each device projected by the map's own projection, with what the map rendered there. */
function projectDevices(page: Page, devices: { id: string; ward: string; lon: number; lat: number }[]): Promise<Projected[]> {
  return page.evaluate((list) => {
    const map = (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre;
    return list.map((d) => {
      const p = map.project([d.lon, d.lat]);
      const drawn = map.queryRenderedFeatures(
        [
          [p.x - 2, p.y - 2],
          [p.x + 2, p.y + 2],
        ],
        { layers: ['devices'] },
      );
      return { id: d.id, ward: d.ward, x: p.x, y: p.y, drawn: drawn.map((f) => String(f.properties.id)) };
    });
  }, devices);
}

describe('geographic map', () => {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt();
    h = await startHarness({ config: { webDist: DIST_DIR, map: { wardAreas: WARD_AREAS } } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('draws every device at its coordinates on a plain background with the network blocked, and a click drills down', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(20_000);
    const refused = await offline(page);
    await signIn(page, h.url, 'technician', '/');
    await mapIdle(page);
    expect(await page.locator('[data-testid="map-fallback"]').count()).toBe(0);

    const projected = await projectDevices(page, h.city.devices);
    const box = (await page.locator('.geo-map-canvas').boundingBox())!;
    for (const d of projected) {
      expect(d.x, d.id).toBeGreaterThan(0);
      expect(d.x, d.id).toBeLessThan(box.width);
      expect(d.y, d.id).toBeGreaterThan(0);
      expect(d.y, d.id).toBeLessThan(box.height);
      expect(d.drawn, `${d.id} drawn where [lon, lat] projects`).toContain(d.id);
    }
    // A ward's label sits where its centre projects.
    const ward = h.city.wards.find((w) => w.id === 'an-phu')!;
    const label = (await page.locator('.map-ward-label[data-ward="an-phu"]').boundingBox())!;
    const centre = await page.evaluate(
      ([lon, lat]) =>
        (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre.project([lon!, lat!]),
      [ward.lon, ward.lat],
    );
    expect(Math.abs(label.x + label.width / 2 - (box.x + centre.x))).toBeLessThan(2);
    expect(Math.abs(label.y + label.height / 2 - (box.y + centre.y))).toBeLessThan(2);
    await screenshot(page, 'geo-map-overview');

    // A device with no other within 14 px: clicking it opens its page (technician).
    const alone = projected.find((d) => projected.every((o) => o === d || Math.hypot(o.x - d.x, o.y - d.y) > 14))!;
    expect(alone).toBeDefined();
    await page.mouse.click(box.x + alone.x, box.y + alone.y);
    await expect.poll(() => new URL(page.url()).pathname, POLL).toBe(`/devices/${alone.id}`);

    // A point inside a ward's area, away from devices and labels: the ward's environment view.
    await page.goto(`${h.url}/`);
    await mapIdle(page);
    const spot = await page.evaluate(() => {
      const map = (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre;
      const { width, height } = map.getCanvas().getBoundingClientRect();
      for (let y = 10; y < height - 10; y += 7)
        for (let x = 10; x < width - 10; x += 7) {
          const near = map.queryRenderedFeatures(
            [
              [x - 16, y - 16],
              [x + 16, y + 16],
            ],
            { layers: ['devices', 'device-alarm-halo'] },
          );
          const ward = map.queryRenderedFeatures([x, y], { layers: ['ward-fill'] })[0];
          if (!near.length && ward) return { x, y, ward: String(ward.properties.ward) };
        }
      return null;
    });
    expect(spot).not.toBeNull();
    const labelAt = await page.evaluate(({ x, y }) => document.elementFromPoint(x, y)?.className, {
      x: box.x + spot!.x,
      y: box.y + spot!.y,
    });
    expect(labelAt).toContain('maplibregl-canvas');
    await page.mouse.click(box.x + spot!.x, box.y + spot!.y);
    await expect.poll(() => page.url(), POLL).toBe(`${h.url}/environment?ward=${spot!.ward}`);
    await expect.poll(() => page.locator(`select:has(option[value="${spot!.ward}"])`).inputValue(), POLL).toBe(spot!.ward);

    expect(refused, 'requests that left the machine').toEqual([]);
    await page.close();
  });

  it('layers switch device kinds on and off', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await signIn(page, h.url, 'viewer', '/');
    await mapIdle(page);
    const water = h.city.devices.filter((d) => d.kind === 'water_level');
    expect(water.length).toBeGreaterThan(0);
    const drawnWater = async () => (await projectDevices(page, water)).filter((d) => d.drawn.includes(d.id)).length;
    expect(await drawnWater()).toBe(water.length);
    await page.locator('input[data-layer="water"]').uncheck();
    await expect.poll(drawnWater, POLL).toBe(0);
    await page.locator('input[data-layer="water"]').check();
    await expect.poll(drawnWater, POLL).toBe(water.length);
    await page.close();
  });

  it('the wall map draws the devices without WebGL as the schematic, and says so in the page language', async () => {
    const noGl = await launchChromium(['--disable-webgl', '--disable-3d-apis']);
    try {
      const page = await noGl.newPage({ viewport: { width: 1920, height: 1080 } });
      expect(await page.evaluate(() => !!document.createElement('canvas').getContext('webgl'))).toBe(false);
      await signIn(page, h.url, 'viewer', '/');
      await expect.poll(() => page.getByTestId('map-fallback').innerText(), POLL).toBe(VI['map.noWebgl']);
      await expect.poll(() => page.locator('.city-map [data-device]').count(), POLL).toBe(h.city.devices.length);
      expect(await page.locator('.geo-map-canvas').count()).toBe(0);
      await screenshot(page, 'geo-map-no-webgl');
      await page.close();
    } finally {
      await noGl.close();
    }
  });
});

describe('geographic map with a PMTiles basemap served by the dashboard', () => {
  let h: Harness;
  let browser: Browser;
  const MAGENTA: [number, number, number] = [255, 0, 255];

  beforeAll(async () => {
    ensureBuilt();
    const file = join(tempDir('geo-map'), 'basemap.pmtiles');
    writeFileSync(file, oneTilePmtiles(solidPng(MAGENTA)));
    h = await startHarness({
      config: {
        webDist: DIST_DIR,
        map: { wardAreas: WARD_AREAS, basemap: { type: 'pmtiles', file, maxzoom: 0, attribution: 'test tiles' } },
      },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('reads the archive with range requests and draws its tile under the wards, nothing leaving the machine', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(20_000);
    const refused = await offline(page);
    const ranges: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/map/basemap.pmtiles')) ranges.push(r.status());
    });
    await signIn(page, h.url, 'viewer', '/');
    await mapIdle(page);
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((s) => s === 206)).toBe(true);
    // Outside the ward areas (the canvas corner) the basemap shows through unmixed: the tile's colour.
    const shot = await page.locator('.geo-map-canvas').screenshot();
    const corner = await page.evaluate(async (b64) => {
      // An <img> (img-src allows data:), not fetch: the page's connect-src is its own origin only.
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = new OffscreenCanvas(img.width, img.height);
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      return [...g.getImageData(3, 3, 1, 1).data.slice(0, 3)];
    }, shot.toString('base64'));
    expect(corner).toEqual(MAGENTA);
    expect(refused).toEqual([]);
    await page.close();
  });
});
