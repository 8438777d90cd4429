import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser, screenshot } from './browser';
import { KIOSK_TOKEN, startMockServer, type MockServer } from './mock-server';

describe('accessibility of the wall panels (dark theme; axe-core: no serious or critical violations)', () => {
  let server: MockServer;
  let browser: Browser;
  beforeAll(async () => {
    ensureBuilt();
    server = await startMockServer({ distDir: DIST_DIR });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('every wall panel at 1920×1080', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    for (const panel of ['map', 'air', 'traffic', 'lighting', 'alarms']) {
      await page.goto(`${server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=${panel}`);
      await page.waitForSelector(`.wall[data-panel="${panel}"] .wall-body > :not(.stale-badge)`, { timeout: 20_000 });
      await expectAccessible(page, `wall-${panel}`);
      await screenshot(page, `wall-${panel}`);
    }
    await page.close();
  });
});
