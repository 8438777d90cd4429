import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tamky/service-kit';
import { launchChromium, tempDir } from '@tamky/test-support';
import { startCityDemo, type CityDemo, REPO_ROOT } from '@tamky/demo';

/**
 * The wall screen in real Chromium against the real composition: signed in by kiosk token, panels rotate,
 * and when the air stations really stop answering their gateways the air panel says its data is old.
 *
 * Why pollIntervalMs 2000: a wall panel is stale after 2.5 times the slowest expected interval of the kinds it shows
 * (lib/freshness). With the city's own intervals that is minutes; at
 * 2 s every device, the air panel turns stale ~5 s after the stations go silent, well inside a test.
 */
const POLL_MS = 2000;
const artifacts = join(REPO_ROOT, 'test-artifacts/screenshots');

let demo: CityDemo;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  if (!existsSync(join(REPO_ROOT, 'dashboard/web/dist/index.html')))
    throw new Error('dashboard/web/dist is not built: run `npm run build -w dashboard/web`');
  demo = await startCityDemo({
    dataDir: tempDir('e2e-browser-wall'),
    mqttPort: 0,
    httpPort: 0,
    pollIntervalMs: POLL_MS,
    logger: createLogger('e2e', { level: 'warn' }),
  });
  mkdirSync(artifacts, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

describe('the wall screen against the real system', () => {
  it('signs in with the kiosk token at 1920×1080 and rotates its panels', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(`${demo.urls.dashboard}/wall?kiosk=${demo.credentials.kioskToken}&rotate=3`);
    const wall = page.locator('.wall');
    await wall.waitFor({ timeout: 30_000 });
    expect(await page.locator('nav').count()).toBe(0);
    expect(await page.locator('main').getAttribute('data-user')).toBe('viewer');
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await wall.getAttribute('data-panel', { timeout: 5_000 })) ?? '');
          return seen.size;
        },
        { timeout: 40_000, interval: 250 },
      )
      .toBeGreaterThanOrEqual(3);
    expect([...seen].every((p) => ['map', 'air', 'traffic', 'lighting', 'alarms'].includes(p))).toBe(true);
    await page.screenshot({ path: join(artifacts, 'e2e-wall-rotating.png') });
    await page.close();
  });

  it('says the air panel is stale when every air station stops answering, and recovers when they answer again', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(`${demo.urls.dashboard}/wall?kiosk=${demo.credentials.kioskToken}&panels=air`);
    await page.locator('.wall-tile').first().waitFor({ timeout: 30_000 });
    // Fresh first: real readings arrive, so no stale badge.
    await expect.poll(() => page.getByTestId('stale').count(), { timeout: 30_000 }).toBe(0);
    await page.screenshot({ path: join(artifacts, 'e2e-wall-fresh.png') });

    // The stations go silent on the Modbus link: their gateways poll, get no answer, publish nothing for them.
    const stations = demo.city.devices.filter((d) => d.kind === 'air_station');
    expect(stations.length).toBeGreaterThan(0);
    for (const d of stations) demo.sim.devices.get(d.id)!.injectFault({ type: 'no_answer' });
    try {
      await expect.poll(() => page.getByTestId('stale').count(), { timeout: 45_000, interval: 500 }).toBeGreaterThan(0);
      await expect.poll(() => page.getByTestId('stale').first().innerText(), { timeout: 15_000 }).toMatch(/Dữ liệu cũ \d+ (giây|phút)/);
      await page.screenshot({ path: join(artifacts, 'e2e-wall-stale.png') });
    } finally {
      for (const d of stations) demo.sim.devices.get(d.id)!.clearFaults();
    }
    // Answers again: the badge goes away by itself, no reload.
    await expect.poll(() => page.getByTestId('stale').count(), { timeout: 45_000, interval: 500 }).toBe(0);
    await page.close();
  });
});
