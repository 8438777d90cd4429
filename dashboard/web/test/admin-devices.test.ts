import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectAccessible, login, screenshot, useMockAndBrowser } from './browser';
import { KIOSK_TOKEN } from './mock-server';

/** The device registry editor: filters, move to another ward/gateway, conflicts, and open pages following a change. */
describe('admin device registry', () => {
  const env = useMockAndBrowser();
  const adminPage = async (path: string): Promise<Page> => {
    const page = await env.browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(15_000); // a stuck step fails naming its locator
    await login(page, env.server.url, 'admin', path);
    return page;
  };

  it('devices: filters by ward and kind, moves a device to another ward and gateway, and a stale editor gets the conflict message', async () => {
    const page = await adminPage('/admin/devices');
    const city = env.server.city;
    await page.waitForSelector('[data-testid="admin-devices"] tbody tr');
    expect(await page.locator('[data-testid="admin-devices"] tbody tr').count()).toBe(city.devices.length);
    await page.getByTestId('filter-ward').selectOption('an-phu');
    await page.getByTestId('filter-kind').selectOption('water_level');
    const inWard = city.devices.filter((d) => d.ward === 'an-phu' && d.kind === 'water_level');
    await expect.poll(() => page.locator('[data-testid="admin-devices"] tbody tr').count()).toBe(inWard.length);
    await expectAccessible(page, 'devices');

    const device = inWard[0]!;
    const target = city.gateways.find((g) => g.ward === 'an-my')!;
    await page.getByRole('button', { name: `Sửa thiết bị: ${device.name}` }).click();
    const form = page.getByTestId('device-form');
    await form.getByLabel('Phường').selectOption('an-my');
    // Choosing the ward offers its gateway.
    expect(await form.getByLabel('Gateway').inputValue()).toBe(target.id);
    await form.getByLabel('Vĩ độ').fill('ngoài khơi');
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect.poll(() => page.getByTestId('dev-lat-error').innerText()).toContain('Vĩ độ phải là số');
    await expectAccessible(page, 'device-form-error');
    await form.getByLabel('Vĩ độ').fill(String(device.lat));
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect.poll(() => page.getByTestId('devices-outcome').innerText()).toContain(`Đã lưu ${device.name} (phiên bản 2)`);
    expect(env.server.city.devices.find((d) => d.id === device.id)).toMatchObject({ ward: 'an-my', gateway: target.id, kind: device.kind, lat: device.lat });
    expect(env.server.adminAudit.at(-1)).toMatchObject({ user: 'admin', action: 'registry.update', detail: { device: device.id } });
    await screenshot(page, 'view-devices');

    env.server.bumpRegistry();
    await page.getByTestId('filter-ward').selectOption('');
    await page.getByTestId('filter-kind').selectOption('');
    const other = env.server.city.devices[0]!;
    await page.getByRole('button', { name: `Xoá thiết bị: ${other.name}` }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    const alert = page.getByTestId('devices-outcome').getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('Xung đột');
    expect(env.server.city.devices.some((d) => d.id === other.id)).toBe(true);
    await expectAccessible(page, 'devices-conflict');
    await screenshot(page, 'view-devices-conflict');
    await page.close();
  });

  it('devices: a removed device leaves an open wall map without a reload', async () => {
    const wall = await env.browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await wall.goto(`${env.server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=map`);
    const victim = env.server.city.devices.at(-1)!;
    await wall.locator(`[data-device="${victim.id}"]`).waitFor({ state: 'attached', timeout: 20_000 });
    const page = await adminPage('/admin/devices');
    await page.getByRole('button', { name: `Xoá thiết bị: ${victim.name}` }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    await expect.poll(() => page.getByTestId('devices-outcome').innerText()).toContain(`Đã xoá ${victim.name}`);
    await expect.poll(() => wall.locator(`[data-device="${victim.id}"]`).count(), { timeout: 15_000 }).toBe(0);
    expect(await page.locator(`tr[data-device="${victim.id}"]`).count()).toBe(0);
    await Promise.all([wall.close(), page.close()]);
  });
});
