import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser, login, screenshot } from './browser';
import { startMockServer, type MockServer } from './mock-server';

// Chart views, with what must be on screen before axe checks them.
const VIEWS: Array<{ name: string; path: string; ready: string }> = [
  { name: 'overview', path: '/', ready: 'article.ward-card' },
  { name: 'environment', path: '/environment', ready: '[data-testid="chart"] .recharts-line' },
  { name: 'traffic', path: '/traffic', ready: '[data-testid="chart"] .recharts-line' },
  { name: 'lighting', path: '/lighting', ready: '[data-testid="chart"] .recharts-line' },
];

describe('accessibility of the chart views (axe-core: no serious or critical violations)', () => {
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

  it('overview, environment, traffic, lighting and the lighting confirmation dialog', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await login(page, server.url, 'admin');
    for (const view of VIEWS) {
      await page.goto(`${server.url}${view.path}`);
      await page.waitForSelector(view.ready, { timeout: 20_000 });
      await expectAccessible(page, view.name);
      await screenshot(page, `view-${view.name}`);
    }
    await page.getByTestId('lighting-apply').click();
    await page.waitForSelector('dialog[open]');
    await expectAccessible(page, 'lighting-dialog');
    await screenshot(page, 'view-lighting-dialog');
    await page.close();
  });
});
