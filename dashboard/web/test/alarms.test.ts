import { describe, expect, it } from 'vitest';
import { useMockAndBrowser, login, screenshot } from './browser';

describe('alarms', () => {
  const env = useMockAndBrowser();

  it('an operator acknowledges an active alarm and sees its notification trail', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1366, height: 900 } });
    await login(page, env.server.url, 'operator', '/alarms');
    const item = page.locator('li[data-alarm="alm-1"]');
    await expect.poll(() => item.getAttribute('data-state'), { timeout: 15_000 }).toBe('active');
    await item.getByRole('button', { name: 'Chi tiết' }).click();
    await expect.poll(() => item.getByTestId('notifications').innerText()).toContain('sms');
    await item.getByLabel('Nội dung ghi chú').fill('Đã cử người kiểm tra');
    await item.getByTestId('ack').click();
    await expect.poll(() => env.server.alarms.find((a) => a.id === 'alm-1')?.state).toBe('acknowledged');
    await expect.poll(() => item.getByTestId('alarm-state').innerText()).toBe('Đã xác nhận');
    await expect.poll(() => item.innerText()).toContain('Xác nhận bởi operator');
    await expect.poll(() => item.locator('.alarm-trail').innerText()).toContain('Đã cử người kiểm tra');
    await screenshot(page, 'alarms');

    // A change made elsewhere arrives over the live feed.
    const a2 = env.server.alarms.find((a) => a.id === 'alm-2')!;
    a2.state = 'cleared';
    env.server.push({ type: 'alarm', alarm: a2 });
    await expect.poll(() => page.locator('li[data-alarm="alm-2"]').count()).toBe(0);

    // A new alarm raised elsewhere appears without a reload.
    env.server.push({ type: 'alarm', alarm: { ...a2, id: 'alm-new', state: 'active', severity: 'critical', message: { vi: 'Mất kết nối gateway Tam Thanh', en: 'Gateway Tam Thanh lost' } } });
    await expect.poll(() => page.locator('li[data-alarm="alm-new"]').innerText()).toContain('Mất kết nối gateway Tam Thanh');

    // Assign, comment and clear an acknowledged alarm; each lands in its audit trail.
    const a3 = page.locator('li[data-alarm="alm-3"]');
    await a3.getByRole('button', { name: 'Chi tiết' }).click();
    await a3.getByLabel('Tên người xử lý').fill('Đội điện 3');
    await a3.getByRole('button', { name: 'Giao việc' }).click();
    await expect.poll(() => env.server.alarms.find((a) => a.id === 'alm-3')?.assignee).toBe('Đội điện 3');
    await a3.getByLabel('Nội dung ghi chú').fill('Đã thay bóng');
    await a3.getByRole('button', { name: 'Ghi chú', exact: true }).click();
    await expect.poll(() => a3.locator('.alarm-trail').innerText()).toContain('Đã thay bóng');
    await a3.getByTestId('clear').click();
    await expect.poll(() => env.server.alarms.find((a) => a.id === 'alm-3')?.state).toBe('cleared');
    await expect.poll(() => page.locator('li[data-alarm="alm-3"]').count()).toBe(0);

    // History filter shows cleared alarms.
    await page.getByTestId('filter-state').selectOption('cleared');
    await expect.poll(() => page.locator('li[data-alarm="alm-4"]').count()).toBe(1);
    await page.close();
  });
});
