import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { CityModel } from '@tamky/protocol';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser } from './browser';
import { api, login, PASSWORDS, startHarness, type Harness, type Session } from '../../server/test/helpers';

/** The admin device screen puts a device on LoRaWAN (its DevEUI and decoding profile, checked before sending) on the real server. */
describe('admin device registry: LoRaWAN', () => {
  let h: Harness;
  let browser: Browser;
  let admin: Session;

  beforeAll(async () => {
    ensureBuilt();
    h = await startHarness({ config: { webDist: DIST_DIR } });
    browser = await launchBrowser();
    admin = await login(h.url, 'admin');
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });
  const registry = async () =>
    (await (await api(h.url, admin, 'GET', '/api/admin/registry')).json()) as { version: number; city: CityModel };

  it('gives a device a DevEUI and profile, refusing a malformed DevEUI', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true }); // lets axe-core in past the server's CSP
    page.setDefaultTimeout(15_000);
    await page.goto(`${h.url}/admin/devices`);
    await page.getByLabel('Tên đăng nhập').fill('admin');
    await page.getByLabel('Mật khẩu').fill(PASSWORDS.admin);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.waitForSelector('[data-testid="admin-devices"] tbody tr', { timeout: 30_000 });
    const device = (await registry()).city.devices.find((d) => d.kind === 'water_level')!;
    await page.getByRole('button', { name: `Sửa thiết bị: ${device.name}` }).click();
    const form = page.getByTestId('device-form');
    await form.getByLabel('DevEUI').fill('a84041000181c1');
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect.poll(() => page.getByTestId('dev-devEui-error').innerText()).toContain('16 chữ số hex');
    await form.getByLabel('DevEUI').fill('A84041000181C1FF');
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect.poll(() => page.getByTestId('dev-profile-error').innerText()).toContain('hồ sơ');
    expect((await registry()).version).toBe(1); // neither refused form was saved
    await form.getByLabel('Hồ sơ LoRaWAN').fill('dragino-ldds75');
    await expectAccessible(page, 'device-form-lorawan');
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect
      .poll(async () => (await registry()).city.devices.find((d) => d.id === device.id)?.lorawan)
      .toEqual({ devEui: 'a84041000181c1ff', profile: 'dragino-ldds75' });
    await page.close();
  });
});
