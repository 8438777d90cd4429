import { describe, expect, it } from 'vitest';
import { interpolate } from '../src/i18n/i18n';
import { en as EN, vi as VI } from '../src/i18n/dict';
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

  it('a windowed chart says how many of its windows hold readings of uncertain time, in Vietnamese and English', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1440, height: 900 } });
    await login(page, env.server.url, 'admin');
    await page.goto(`${env.server.url}/environment`);
    // Water levels over 24 h in 5-minute windows: the gateway whose clock stepped (mock-data MockClockStretch) has
    // marked readings in 3 windows, the second holding both marks ('unsynced' wins).
    const waterLevel = async () => {
      const metric = page.getByTestId('metric');
      await metric.locator('option').last().waitFor({ state: 'attached' });
      const values = await metric.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      // EnvironmentView's METRICS: water level is the last.
      await metric.selectOption(values.at(-1)!);
    };
    await waterLevel();
    const note = page.getByTestId('chart-clock');
    const said = (dict: Record<'chart.clockMarkedWindows', string>, window: string) =>
      `⏱ ${interpolate(dict['chart.clockMarkedWindows'], { n: 3, window, unsynced: 2, corrected: 1 })}`;
    await expect.poll(() => note.textContent()).toBe(said(VI, '5 phút'));
    await expectAccessible(page, 'chart-clock');
    await page.evaluate(() => localStorage.setItem('lang', 'en'));
    await page.reload();
    await waterLevel();
    await expect.poll(() => note.textContent()).toBe(said(EN, '5 minutes'));
    await page.close();
  });

  it('the chart tooltip shows the row under the pointer and Escape dismisses it until the pointer moves on', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1440, height: 900 } });
    await login(page, env.server.url, 'admin');
    await page.goto(`${env.server.url}/environment`);
    const chart = page.locator('[data-testid="chart"]').first();
    await chart.locator('.chart-line').first().waitFor({ timeout: 20_000 });
    const box = (await chart.boundingBox())!;
    const tooltip = chart.locator('.chart-tooltip');
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await tooltip.waitFor({ state: 'visible' });
    expect(await tooltip.locator('li').count()).toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    await tooltip.waitFor({ state: 'detached' });
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await tooltip.waitFor({ state: 'visible' });
    await page.close();
  });

  it("draws a chart's frame while its answer is on its way, and its lines when it arrives, without moving", async () => {
    const page = await env.browser.newPage({ viewport: { width: 1440, height: 900 } });
    await login(page, env.server.url, 'admin');
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await page.route(/\/api\/history\?/, async (route) => {
      await released;
      await route.continue();
    });
    await page.goto(`${env.server.url}/environment`);
    const chart = page.locator('[data-testid="chart"]').first();
    // The time axis and the grid, no lines, and the page says it is loading.
    await chart.locator('.recharts-xAxis-tick-labels text').first().waitFor({ timeout: 20_000 });
    await expect.poll(() => chart.locator('.chart-waiting').innerText()).toBe(VI['app.loading']);
    expect(await chart.locator('.chart-line').count()).toBe(0);
    expect(await chart.locator('.recharts-yAxis-tick-labels text').count()).toBe(0);
    const before = (await chart.boundingBox())!;
    release();
    await chart.locator('.chart-line').first().waitFor({ timeout: 20_000 });
    expect(await chart.locator('.chart-waiting').count()).toBe(0);
    expect(await chart.locator('.recharts-yAxis-tick-labels text').count()).toBeGreaterThan(0);
    const after = (await chart.boundingBox())!;
    expect(after.height).toBe(before.height);
    await page.close();
  });
});
