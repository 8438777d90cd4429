import { describe, expect, it } from 'vitest';
import { expectAccessible, signedInPage, useMockAndBrowser } from './browser';

/** The admin device screen puts a device on LoRaWAN: its DevEUI and decoding profile, checked before sending. */
describe('admin device registry: LoRaWAN', () => {
  const env = useMockAndBrowser();

  it('gives a device a DevEUI and profile, refusing a malformed DevEUI', async () => {
    const page = await signedInPage(env.browser, env.server.url, 'admin', '/admin/devices');
    await page.waitForSelector('[data-testid="admin-devices"] tbody tr');
    const device = env.server.city.devices.find((d) => d.kind === 'water_level')!;
    await page.getByRole('button', { name: `Sửa thiết bị: ${device.name}` }).click();
    const form = page.getByTestId('device-form');
    await form.getByLabel('DevEUI').fill('a84041000181c1');
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect.poll(() => page.getByTestId('dev-devEui-error').innerText()).toContain('16 chữ số hex');
    await form.getByLabel('DevEUI').fill('A84041000181C1FF');
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect.poll(() => page.getByTestId('dev-profile-error').innerText()).toContain('hồ sơ');
    await form.getByLabel('Hồ sơ LoRaWAN').fill('dragino-ldds75');
    await expectAccessible(page, 'device-form-lorawan');
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect
      .poll(() => env.server.city.devices.find((d) => d.id === device.id)?.lorawan)
      .toEqual({ devEui: 'a84041000181c1ff', profile: 'dragino-ldds75' });
    await page.close();
  });
});
