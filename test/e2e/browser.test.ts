import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tamky/service-kit';
import { launchChromium, tempDir, waitFor } from '@tamky/test-support';
import { startCityDemo, type CityDemo, REPO_ROOT } from '@tamky/demo';

/**
 * Real Chromium against the real composition: the overview shows a device's value and follows it live
 * when the device's register changes, with no reload; a technician dims a LoRaWAN lamp and the screen says
 * "done" only once the lamp's confirmed downlink is acknowledged through ChirpStack.
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

  it('says a LoRaWAN lamp command is done when the lamp acknowledges the confirmed downlink', async () => {
    const LAMP = 'tam-thanh-lamp-lora-1'; // gateway lns-tam-ky: the LoRaWAN connector (config/tam-ky/city.yaml)
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`${demo.urls.dashboard}/lighting`);
    await page.getByLabel('Tên đăng nhập').fill('technician');
    await page.getByLabel('Mật khẩu').fill(demo.credentials.users.technician);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByLabel('Tủ điều khiển').selectOption(LAMP, { timeout: 30_000 });
    await page.getByLabel('Mức sáng (%)').fill('35');
    await page.getByTestId('lighting-apply').click();
    const status = page.locator('.command-status');
    // Before the confirmation nothing is sent.
    expect(await status.textContent()).toBe('');
    await page.getByTestId('confirm').click();
    await status.getByText('Lệnh đã thực hiện').waitFor({ timeout: 45_000 });
    // "Done" is what the lamp did: its next uplink reports the level the downlink set.
    await waitFor(async () => (await demo.store.latest({ devices: [LAMP], kind: 'street_light' }))[0]?.values.lamp1_level === 35, {
      what: 'the lamp reporting 35 %',
      timeoutMs: 60_000,
    });
    await status.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'e2e-lorawan-lamp-done.png') });
    await page.close();
  });
});
