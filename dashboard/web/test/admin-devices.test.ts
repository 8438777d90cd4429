import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectAccessible, screenshot, signedInPage, useMockAndBrowser } from './browser';
import { KIOSK_TOKEN } from './mock-server';

/** The device registry editor: filters, move to another ward/gateway, conflicts, and open pages following a change. */
describe('admin device registry', () => {
  const env = useMockAndBrowser();
  const adminPage = (path: string): Promise<Page> => signedInPage(env.browser, env.server.url, 'admin', path);

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
    expect(env.server.city.devices.find((d) => d.id === device.id)).toMatchObject({
      ward: 'an-my',
      gateway: target.id,
      kind: device.kind,
      lat: device.lat,
    });
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
    // The schematic (?map=schematic): one element per device to count.
    await wall.goto(`${env.server.url}/wall?kiosk=${KIOSK_TOKEN}&panels=map&map=schematic`);
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

  it('gateways: adds one, refuses removing one that devices still use, and a new device can be put on the new gateway', async () => {
    const page = await adminPage('/admin/devices');
    await page.waitForSelector('[data-testid="admin-gateways"] tbody tr');
    const count = env.server.city.gateways.length;
    await page.getByRole('button', { name: 'Thêm gateway' }).click();
    const form = page.getByTestId('gateway-form');
    await form.getByLabel('Mã gateway').fill(env.server.city.gateways[0]!.id);
    await form.getByLabel('Tên gateway').fill('Gateway Trường Xuân 2');
    await form.getByRole('button', { name: 'Lưu gateway' }).click();
    await expect.poll(() => page.getByTestId('gw-id-error').innerText()).toContain('đã tồn tại');
    await form.getByLabel('Mã gateway').fill('gw-truong-xuan-2');
    await form.getByLabel('Phường').selectOption('truong-xuan');
    await form.getByRole('button', { name: 'Lưu gateway' }).click();
    await page.waitForSelector('tr[data-gateway="gw-truong-xuan-2"]');
    expect(env.server.city.gateways).toHaveLength(count + 1);
    expect(env.server.city.gateways.at(-1)).toEqual({ id: 'gw-truong-xuan-2', name: 'Gateway Trường Xuân 2', ward: 'truong-xuan' });

    // A gateway with devices cannot go: the page says why and sends nothing.
    const used = env.server.city.gateways.find((g) => env.server.city.devices.some((d) => d.gateway === g.id))!;
    await page.getByRole('button', { name: `Xoá gateway: ${used.name}` }).click();
    await expect.poll(() => page.getByTestId('devices-outcome').innerText()).toContain('còn');
    expect(env.server.city.gateways.some((g) => g.id === used.id)).toBe(true);

    // A new device on the new gateway.
    await page.getByRole('button', { name: 'Thêm thiết bị' }).click();
    const dev = page.getByTestId('device-form');
    await dev.getByLabel('Mã thiết bị').fill('truong-xuan-noise-2');
    await dev.getByLabel('Tên thiết bị').fill('Đo ồn chợ Trường Xuân');
    await dev.getByLabel('Loại').selectOption('noise_meter');
    await dev.getByLabel('Phường').selectOption('truong-xuan');
    await dev.getByLabel('Gateway').selectOption('gw-truong-xuan-2');
    await dev.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await page.waitForSelector('tr[data-device="truong-xuan-noise-2"]');
    expect(env.server.city.devices.find((d) => d.id === 'truong-xuan-noise-2')).toMatchObject({
      kind: 'noise_meter',
      ward: 'truong-xuan',
      gateway: 'gw-truong-xuan-2',
    });
    expect(await page.locator('tr[data-gateway="gw-truong-xuan-2"] td').nth(1).innerText()).toBe('1');
    await expectAccessible(page, 'devices-gateways');
    await page.close();
  });
});
