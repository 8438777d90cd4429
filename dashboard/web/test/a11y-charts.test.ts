import { describe, it } from 'vitest';
import { expectAccessible, useMockAndBrowser, login, screenshot } from './browser';

// Chart views, with what must be on screen before axe checks them.
const VIEWS: Array<{ name: string; path: string; ready: string }> = [
  { name: 'overview', path: '/', ready: 'article.ward-card' },
  { name: 'environment', path: '/environment', ready: '[data-testid="chart"] .chart-line' },
  { name: 'traffic', path: '/traffic', ready: '[data-testid="chart"] .chart-line' },
  { name: 'lighting', path: '/lighting', ready: '[data-testid="chart"] .chart-line' },
];

describe('accessibility of the chart views (axe-core: no serious or critical violations)', () => {
  const env = useMockAndBrowser();

  it('overview, environment, traffic, lighting and the lighting confirmation dialog', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1440, height: 900 } });
    await login(page, env.server.url, 'admin');
    for (const view of VIEWS) {
      await page.goto(`${env.server.url}${view.path}`);
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
