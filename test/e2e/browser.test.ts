import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tamky/service-kit';
import { launchChromium, tempDir } from '@tamky/test-support';
import { startCityDemo, type CityDemo, REPO_ROOT } from '@tamky/demo';

/**
 * Real Chromium against the real composition: the overview shows a device's value and follows it live
 * when the device's register changes, with no reload.
 */
const DEVICE = 'an-my-noise-1';
const artifacts = join(REPO_ROOT, 'test-artifacts/screenshots');

let demo: CityDemo;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  demo = await startCityDemo({
    dataDir: tempDir('e2e-browser'),
    mqttPort: 0,
    httpPort: 0,
    pollIntervalMs: 1000,
    logger: createLogger('e2e', { level: 'warn' }),
  });
  mkdirSync(artifacts, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

describe('the dashboard in a browser', () => {
  it('shows a live value change on the overview without a reload', async () => {
    const device = demo.sim.devices.get(DEVICE)!;
    device.pin('holding', 0, 777); // 77.7 dB(A)
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`${demo.urls.dashboard}/?kiosk=${demo.credentials.kioskToken}`);
    await page
      .getByText(/77[,.]7/)
      .first()
      .waitFor({ timeout: 45_000 });
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));

    device.pin('holding', 0, 888); // 88.8 dB(A)
    await page
      .getByText(/88[,.]8/)
      .first()
      .waitFor({ timeout: 45_000 });
    expect(navigations).toEqual([]);
    await page.screenshot({ path: join(artifacts, 'e2e-overview-live.png'), fullPage: true });
    await page.close();
  });
});
