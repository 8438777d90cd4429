import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { DIST_DIR, ensureBuilt, launchBrowser, login, screenshot, seriousViolations } from './browser';
import { KIOSK_TOKEN, startMockServer, type MockServer } from './mock-server';

// Every view, with what must be on screen before it is checked.
const VIEWS: Array<{ name: string; path: string; ready: string }> = [
  { name: 'overview', path: '/', ready: 'article.ward-card' },
  { name: 'environment', path: '/environment', ready: '[data-testid="chart"] .recharts-line' },
  { name: 'traffic', path: '/traffic', ready: '[data-testid="chart"] .recharts-line' },
  { name: 'lighting', path: '/lighting', ready: '[data-testid="chart"] .recharts-line' },
  { name: 'alarms', path: '/alarms', ready: 'li.alarm' },
  { name: 'gateways', path: '/gateways', ready: 'article.gateway' },
  { name: 'device', path: '/devices/an-my-air-1', ready: 'table' },
  { name: 'data-quality', path: '/data-quality', ready: '[data-testid="dead-letters"]' },
];

async function check(page: Page, name: string): Promise<void> {
  const violations = await seriousViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

describe('accessibility (axe-core: no serious or critical violations) and screenshots', () => {
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

  it('login page', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.getByLabel('Tên đăng nhập').waitFor();
    await check(page, 'login');
    await page.close();
  });

  it('every view of the app, as admin (who sees them all)', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await login(page, server.url, 'admin');
    for (const view of VIEWS) {
      await page.goto(`${server.url}${view.path}`);
      await page.waitForSelector(view.ready, { timeout: 20_000 });
      await check(page, view.name);
      await screenshot(page, `view-${view.name}`);
    }
    // The alarm detail (actions + trail) and the lighting confirmation dialog are views too.
    await page.goto(`${server.url}/alarms`);
    await page.locator('li.alarm').first().getByRole('button', { name: 'Chi tiết' }).click();
    await page.waitForSelector('.alarm-trail ol');
    await check(page, 'alarm-detail');
    await page.goto(`${server.url}/lighting`);
    await page.getByTestId('lighting-apply').click();
    await page.waitForSelector('dialog[open]');
    await check(page, 'lighting-dialog');
    await screenshot(page, 'view-lighting-dialog');
    await page.close();
  });

  it('wall panels (dark theme) and the phone gateway view', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    for (const panel of ['map', 'air', 'traffic', 'lighting', 'alarms']) {
      await page.goto(`${server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=${panel}`);
      await page.waitForSelector(`.wall[data-panel="${panel}"] .wall-body > :not(.stale-badge)`, { timeout: 20_000 });
      await check(page, `wall-${panel}`);
      await screenshot(page, `wall-${panel}`);
    }
    await page.close();
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await login(phone, server.url, 'technician', '/gateways');
    await phone.waitForSelector('article.gateway');
    await check(phone, 'gateways-phone');
    await phone.close();
  });
});
