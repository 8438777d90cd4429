import { describe, it } from 'vitest';
import { expectAccessible, useMockAndBrowser, screenshot } from './browser';
import { KIOSK_TOKEN } from './mock-server';

describe('accessibility of the wall panels (dark theme; axe-core: no serious or critical violations)', () => {
  const env = useMockAndBrowser();

  // One test per panel: each panel is a page of its own on the wall, and the map panel loads MapLibre.
  for (const panel of ['map', 'air', 'traffic', 'lighting', 'alarms'])
    it(`the ${panel} panel at 1920×1080`, async () => {
      const page = await env.browser.newPage({ viewport: { width: 1920, height: 1080 } });
      await page.goto(`${env.server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=${panel}`);
      await page.waitForSelector(`.wall[data-panel="${panel}"] .wall-body > :not(.stale-badge)`, { timeout: 20_000 });
      await expectAccessible(page, `wall-${panel}`);
      await screenshot(page, `wall-${panel}`);
      await page.close();
    });
});
