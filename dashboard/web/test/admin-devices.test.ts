import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { CityModel } from '@tamky/protocol';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser, screenshot } from './browser';
import { api, KIOSK_TOKEN, login, PASSWORDS, startHarness, type Harness, type Session } from '../../server/test/helpers';

interface AuditEntry {
  user: string;
  action: string;
  detail: Record<string, unknown> | null;
}

/**
 * The device registry editor in the real app against the real dashboard server: filters, move to another
 * ward/gateway, conflicts, and open pages following a change. What was saved is read back from the server.
 */
describe('admin device registry', () => {
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

  /** The registry as the server holds it now. */
  const registry = async (): Promise<{ version: number; city: CityModel; updatedBy: string }> => {
    const res = await api(h.url, admin, 'GET', '/api/admin/registry');
    expect(res.status).toBe(200);
    return (await res.json()) as { version: number; city: CityModel; updatedBy: string };
  };
  const audit = async (): Promise<AuditEntry[]> =>
    ((await (await api(h.url, admin, 'GET', '/api/audit?limit=50')).json()) as { entries: AuditEntry[] }).entries;
  /** A desktop page signed in as admin (axe-core let in past the server's CSP); a stuck step fails after 15 s. */
  const adminPage = async (path: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
    page.setDefaultTimeout(15_000);
    await page.goto(`${h.url}${path}`);
    await page.getByLabel('Tên đăng nhập').fill('admin');
    await page.getByLabel('Mật khẩu').fill(PASSWORDS.admin);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByTestId('user').waitFor({ state: 'attached', timeout: 30_000 });
    return page;
  };

  it('devices: filters by ward and kind, moves a device to another ward and gateway, and a stale editor gets the conflict message', async () => {
    const page = await adminPage('/admin/devices');
    const { city, version } = await registry();
    expect(version).toBe(1);
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
    expect((await registry()).version).toBe(1); // nothing saved
    await expectAccessible(page, 'device-form-error');
    await form.getByLabel('Vĩ độ').fill(String(device.lat));
    await form.getByRole('button', { name: 'Lưu thiết bị' }).click();
    await expect.poll(() => page.getByTestId('devices-outcome').innerText()).toContain(`Đã lưu ${device.name} (phiên bản 2)`);
    const saved = await registry();
    expect(saved).toMatchObject({ version: 2, updatedBy: 'admin' });
    expect(saved.city.devices.find((d) => d.id === device.id)).toMatchObject({
      ward: 'an-my',
      gateway: target.id,
      kind: device.kind,
      lat: device.lat,
    });
    expect((await audit()).find((e) => e.action === 'registry.update')).toMatchObject({
      user: 'admin',
      detail: { version: 2, device: device.id, op: 'change' },
    });
    await screenshot(page, 'view-devices');

    // Another admin saves meanwhile (through the API): this editor still holds version 2.
    const other = saved.city.devices[0]!;
    const meanwhile = await api(h.url, await login(h.url, 'admin'), 'PUT', `/api/admin/registry/devices/${other.id}`, {
      baseVersion: 2,
      device: { ...other, name: `${other.name} (đã sửa)` },
    });
    expect(meanwhile.status).toBe(200);
    await page.getByTestId('filter-ward').selectOption('');
    await page.getByTestId('filter-kind').selectOption('');
    await page.getByRole('button', { name: `Xoá thiết bị: ${other.name}` }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    const alert = page.getByTestId('devices-outcome').getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('Xung đột');
    const after = await registry();
    expect(after.version).toBe(3);
    expect(after.city.devices.some((d) => d.id === other.id)).toBe(true);
    await expectAccessible(page, 'devices-conflict');
    await screenshot(page, 'view-devices-conflict');
    await page.close();
  });

  it('devices: a removed device leaves an open wall map without a reload', async () => {
    const wall = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    // The schematic (?map=schematic): one element per device to count.
    await wall.goto(`${h.url}/wall?kiosk=${KIOSK_TOKEN}&panels=map&map=schematic`);
    const victim = (await registry()).city.devices.at(-1)!;
    await wall.locator(`[data-device="${victim.id}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    const page = await adminPage('/admin/devices');
    await page.getByRole('button', { name: `Xoá thiết bị: ${victim.name}` }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    await expect.poll(() => page.getByTestId('devices-outcome').innerText()).toContain(`Đã xoá ${victim.name}`);
    expect((await registry()).city.devices.some((d) => d.id === victim.id)).toBe(false);
    await expect.poll(() => wall.locator(`[data-device="${victim.id}"]`).count(), { timeout: 15_000 }).toBe(0);
    expect(await page.locator(`tr[data-device="${victim.id}"]`).count()).toBe(0);
    await Promise.all([wall.close(), page.close()]);
  });

  it('gateways: adds one, refuses removing one that devices still use, and a new device can be put on the new gateway', async () => {
    const page = await adminPage('/admin/devices');
    await page.waitForSelector('[data-testid="admin-gateways"] tbody tr');
    const before = await registry();
    await page.getByRole('button', { name: 'Thêm gateway' }).click();
    const form = page.getByTestId('gateway-form');
    await form.getByLabel('Mã gateway').fill(before.city.gateways[0]!.id);
    await form.getByLabel('Tên gateway').fill('Gateway Trường Xuân 2');
    await form.getByRole('button', { name: 'Lưu gateway' }).click();
    await expect.poll(() => page.getByTestId('gw-id-error').innerText()).toContain('đã tồn tại');
    await form.getByLabel('Mã gateway').fill('gw-truong-xuan-2');
    await form.getByLabel('Phường').selectOption('truong-xuan');
    await form.getByRole('button', { name: 'Lưu gateway' }).click();
    await page.waitForSelector('tr[data-gateway="gw-truong-xuan-2"]');
    const withGateway = await registry();
    expect(withGateway.version).toBe(before.version + 1);
    expect(withGateway.city.gateways).toHaveLength(before.city.gateways.length + 1);
    expect(withGateway.city.gateways.at(-1)).toEqual({ id: 'gw-truong-xuan-2', name: 'Gateway Trường Xuân 2', ward: 'truong-xuan' });

    // A gateway with devices cannot go: the page says why and sends nothing.
    const used = withGateway.city.gateways.find((g) => withGateway.city.devices.some((d) => d.gateway === g.id))!;
    await page.getByRole('button', { name: `Xoá gateway: ${used.name}` }).click();
    await expect.poll(() => page.getByTestId('devices-outcome').innerText()).toContain('còn');
    const unchanged = await registry();
    expect(unchanged.version).toBe(withGateway.version);
    expect(unchanged.city.gateways.some((g) => g.id === used.id)).toBe(true);

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
    expect((await registry()).city.devices.find((d) => d.id === 'truong-xuan-noise-2')).toMatchObject({
      kind: 'noise_meter',
      ward: 'truong-xuan',
      gateway: 'gw-truong-xuan-2',
    });
    expect((await audit()).find((e) => e.action === 'registry.update')).toMatchObject({
      user: 'admin',
      detail: { device: 'truong-xuan-noise-2', op: 'add' },
    });
    expect(await page.locator('tr[data-gateway="gw-truong-xuan-2"] td').nth(1).innerText()).toBe('1');
    await expectAccessible(page, 'devices-gateways');
    await page.close();
  });
});
