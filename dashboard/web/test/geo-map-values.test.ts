import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '@tamky/test-support';
import { loadConfigFile, loadLimits } from '@tamky/service-kit';
import { mapLayerLevelsSchema } from '@tamky/protocol';
import { api, login as apiLogin, PASSWORDS, startHarness, type Harness } from '../../server/test/helpers';
import { publicReadings } from '../../server/test/public-fields';
import { DIST_DIR, ensureBuilt, expectAccessible, REPO_DIR, screenshot } from './browser';

/**
 * The map's layers colour the ward areas by value on the served scales, in Debian chromium against the real
 * server: each ward's fill, read back at the point where its centre projects, is the colour of its value's
 * level in config/limits/vn-aqi.yaml (air) and config/tam-ky/map-layers.yaml (noise against its QCVN 26
 * limit, flood stage, failed lamps; traffic: a colour per congestion level of config/limits/congestion.yaml); a
 * ward without a value stays neutral; the legend names the levels.
 */
const WARD_AREAS = join(REPO_DIR, 'config/tam-ky/wards.geojson');
const LAYERS_FILE = join(REPO_DIR, 'config/tam-ky/map-layers.yaml');
const LEVELS = loadConfigFile(LAYERS_FILE, mapLayerLevelsSchema);
const LIMITS = loadLimits(join(REPO_DIR, 'config/limits'));
const AQI = LIMITS.vnAqi.levels;
const CONGESTION = LIMITS.congestion.levels;
const css = ([r, g, b]: readonly number[]) => `rgb(${r}, ${g}, ${b})`;
const band = (bands: typeof LEVELS.noise, v: number) => (bands.find((b) => v <= b.max) ?? bands.at(-1)!).rgb;

type Overview = {
  wards: Array<{
    ward: string;
    aqi: { value: number } | null;
    noise: { laeq: number; limit: number } | null;
    water: { stage: number } | null;
    traffic: { congestion: number | null } | null;
    lights: { failed: number; total: number } | null;
  }>;
};

/** The fill the map drew under each ward's projected centre. */
function fills(page: Page, wards: Array<{ id: string; lon: number; lat: number }>) {
  return page.evaluate((list) => {
    const map = (document.querySelector('.geo-map-canvas') as HTMLElement & { maplibre: import('maplibre-gl').Map }).maplibre;
    return Object.fromEntries(
      list.map((w) => {
        const f = map.queryRenderedFeatures(map.project([w.lon, w.lat]), { layers: ['ward-fill'] })[0];
        return [w.id, f ? `${String(f.properties.ward)} ${String(f.properties.fill ?? 'neutral')}` : 'none'];
      }),
    );
  }, wards);
}

describe('map layers coloured by value', () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    ensureBuilt();
    h = await startHarness({ config: { webDist: DIST_DIR, map: { wardAreas: WARD_AREAS, layers: LAYERS_FILE } } });
    const ts = Date.now() - 60_000;
    const lamps = (failed: number) =>
      Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [
          [`lamp${i + 1}_level`, 100],
          [`lamp${i + 1}_status`, i < failed ? 1 : 0],
        ]).flat(),
      );
    const r = (kind: string, device: string, ward: string, values: Record<string, number>) => ({
      kind,
      device,
      gateway: `gw-${ward}`,
      ward,
      ts,
      seq: 2,
      values,
    });
    await h.store.writeBatch([
      ...publicReadings(ts),
      // Lamps: one of an-son's eight failed, none of an-phu's; traffic: an-son's loop occupied 70 %, an-my's 10 %.
      r('street_light', 'an-son-light-1', 'an-son', lamps(1)),
      r('street_light', 'an-phu-light-1', 'an-phu', lamps(0)),
      r('traffic_counter', 'an-son-traffic-1', 'an-son', { interval: 60, lane1_occupancy: 70, lane1_car: 5 }),
      r('traffic_counter', 'an-my-traffic-1', 'an-my', { interval: 60, lane1_occupancy: 10, lane1_car: 2 }),
    ]);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('fills each ward with its value level colour for air, noise and water, neutral without a value', async () => {
    const overview = (await (await api(h.url, await apiLogin(h.url, 'viewer'), 'GET', '/api/overview')).json()) as Overview;
    const byWard = new Map(overview.wards.map((w) => [w.ward, w]));
    const wards = h.city.wards.filter((w) => ['an-my', 'an-phu', 'an-son'].includes(w.id));
    const expected = (pick: (w: Overview['wards'][number]) => number[] | null) =>
      Object.fromEntries(
        wards.map((w) => {
          const rgb = pick(byWard.get(w.id)!);
          return [w.id, `${w.id} ${rgb ? css(rgb) : 'neutral'}`];
        }),
      );
    // The readings give an-my air and noise, an-phu noise and water, an-son nothing.
    expect(byWard.get('an-my')!.noise!.laeq).toBe(74);
    expect(byWard.get('an-phu')!.water).not.toBeNull();

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true }); // bypassCSP: axe-core is injected inline
    page.setDefaultTimeout(20_000);
    await page.goto(`${h.url}/`);
    await page.getByLabel('Tên đăng nhập').fill('viewer');
    await page.getByLabel('Mật khẩu').fill(PASSWORDS.viewer);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.locator('.geo-map-canvas[data-ready="true"]').waitFor();

    const air = expected((w) => (w.aqi ? AQI.find((l) => w.aqi!.value <= l.max)!.rgb : null));
    await expect.poll(() => fills(page, wards), { timeout: 20_000 }).toEqual(air);
    expect(await page.getByTestId('map-value-legend').innerText()).toContain(AQI[3]!.vi);

    await page.getByTestId('map-colour-by').getByLabel('Tiếng ồn').check();
    const noise = expected((w) => (w.noise ? band(LEVELS.noise, w.noise.laeq - w.noise.limit) : null));
    await expect.poll(() => fills(page, wards), { timeout: 20_000 }).toEqual(noise);
    expect(noise['an-my']).not.toBe(noise['an-phu']); // 74 dB and 52 dB fall in different bands
    expect(await page.getByTestId('map-value-legend').innerText()).toContain(LEVELS.noise.at(-1)!.vi);
    await expectAccessible(page, 'geo-map-noise');
    await screenshot(page, 'geo-map-noise');

    await page.getByTestId('map-colour-by').getByLabel('Mực nước').check();
    const water = expected((w) => (w.water ? band(LEVELS.water, w.water.stage) : null));
    await expect.poll(() => fills(page, wards), { timeout: 20_000 }).toEqual(water);
    expect(water['an-phu']).not.toContain('neutral');

    await page.getByTestId('map-colour-by').getByLabel('Giao thông').check();
    const traffic = expected((w) => {
      const c = w.traffic?.congestion;
      return c === null || c === undefined ? null : LEVELS.traffic[CONGESTION.findIndex((l) => c <= l.max)]!;
    });
    await expect.poll(() => fills(page, wards), { timeout: 20_000 }).toEqual(traffic);
    expect(traffic['an-son']).not.toBe(traffic['an-my']); // 0.7 and 0.1 are different congestion levels
    expect(await page.getByTestId('map-value-legend').innerText()).toContain(CONGESTION.at(-1)!.vi);

    await page.getByTestId('map-colour-by').getByLabel('Chiếu sáng').check();
    const lighting = expected((w) => (w.lights && w.lights.total ? band(LEVELS.lighting, w.lights.failed / w.lights.total) : null));
    await expect.poll(() => fills(page, wards), { timeout: 20_000 }).toEqual(lighting);
    expect(lighting['an-son']).not.toBe(lighting['an-phu']); // one lamp in eight failed against none
    expect(lighting['an-my']).toBe('an-my neutral');

    // The colouring layer switched off: the wards go neutral.
    await page.locator('input[data-layer="lighting"]').uncheck();
    await expect
      .poll(() => fills(page, wards), { timeout: 20_000 })
      .toEqual(Object.fromEntries(wards.map((w) => [w.id, `${w.id} neutral`])));
    await page.close();
  });
});
