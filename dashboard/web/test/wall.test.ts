import { describe, expect, it } from 'vitest';
import { expectAccessible, useMockAndBrowser, screenshot } from './browser';
import { KIOSK_TOKEN } from './mock-server';

// The wall's client behaviour on the stand-in server (a feed cut, a ward gone quiet, 4K): kiosk sign-in, alarms and
// rotation run on the real server in wall-kiosk.test.ts and wall-takeover.test.ts.
describe('wall mode', () => {
  const env = useMockAndBrowser({ tickMs: 500, pingMs: 2000 });

  it('says a panel is stale when its feed is cut or its data stops, and recovers by itself', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(`${env.server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=air`);
    await page.locator('.wall-tile').first().waitFor({ timeout: 20_000 });
    await expect.poll(() => page.getByTestId('live-status').innerText(), { timeout: 20_000 }).toContain('Trực tuyến');
    // The feed being online says nothing about /api/latest: until it answers the panel has no data time and
    // rightly says "no data yet". Under load that took longer than expect.poll's default second.
    await expect.poll(() => page.getByTestId('stale').count(), { timeout: 20_000 }).toBe(0);

    // Cut the feed: the page says so at once and keeps retrying.
    env.server.setReadingsRunning(false);
    env.server.cutFeed(true);
    await expect.poll(() => page.getByTestId('live-status').innerText(), { timeout: 10_000 }).toContain('Mất kết nối');
    // Let it reconnect: pings say the feed is alive, but no readings come, so the panel is stale.
    env.server.cutFeed(false);
    await expect.poll(() => page.getByTestId('live-status').innerText(), { timeout: 20_000 }).toContain('Trực tuyến');
    await expect.poll(() => page.getByTestId('stale').first().innerText(), { timeout: 20_000 }).toMatch(/Dữ liệu cũ \d+ (giây|phút)/);
    await screenshot(page, 'wall-stale');
    env.server.setReadingsRunning(true);
    await expect.poll(() => page.getByTestId('stale').count(), { timeout: 15_000 }).toBe(0);
    await page.close();
  });

  it("marks the one tile whose ward stopped sending with that tile's own age; the panel header stays clean", async () => {
    env.server.silenceWard('an-phu', 10 * 60_000);
    const page = await env.browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await page.goto(`${env.server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=air`);
    const tile = page.locator('.wall-tile[data-ward="an-phu"]');
    await tile.waitFor({ timeout: 20_000 });
    await expect.poll(() => tile.getByTestId('tile-stale').innerText(), { timeout: 20_000 }).toMatch(/Dữ liệu cũ 1\d phút/);
    expect(await page.getByTestId('tile-stale').count()).toBe(1);
    expect(await tile.getAttribute('class')).toContain('stale');
    expect(await page.getByTestId('stale').count()).toBe(0);
    await screenshot(page, 'wall-tile-stale');
    await expectAccessible(page, 'wall-tile-stale');
    // The ward reports again: its marker goes by itself.
    env.server.silenceWard(null);
    await expect.poll(() => page.getByTestId('tile-stale').count(), { timeout: 20_000 }).toBe(0);
    await page.close();
  });

  it('stays readable at 3840×2160', async () => {
    const page = await env.browser.newPage({ viewport: { width: 3840, height: 2160 } });
    await page.goto(`${env.server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=air`);
    await page.locator('.wall-tile').first().waitFor({ timeout: 20_000 });
    const size = await page
      .locator('.wall-tile h2')
      .first()
      .evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(size).toBeGreaterThanOrEqual(50);
    await screenshot(page, 'wall-4k-air');
    await page.close();
  });
});
