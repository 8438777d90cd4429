import { describe, expect, it } from 'vitest';
import { useMockAndBrowser, login, screenshot } from './browser';
import type { MockRole } from './mock-server';

// What each role's navigation must show, in order (Vietnamese labels: the default language).
const EXPECTED: Record<MockRole, string[]> = {
  viewer: ['Tổng quan', 'Môi trường', 'Giao thông', 'Chiếu sáng', 'Báo cáo', 'Màn hình tường'],
  operator: ['Tổng quan', 'Môi trường', 'Giao thông', 'Chiếu sáng', 'Báo cáo', 'Cảnh báo', 'Màn hình tường'],
  technician: [
    'Tổng quan',
    'Môi trường',
    'Giao thông',
    'Chiếu sáng',
    'Báo cáo',
    'Cảnh báo',
    'Gateway',
    'Chất lượng dữ liệu',
    'Màn hình tường',
  ],
  admin: [
    'Tổng quan',
    'Môi trường',
    'Giao thông',
    'Chiếu sáng',
    'Báo cáo',
    'Cảnh báo',
    'Gateway',
    'Chất lượng dữ liệu',
    'Quản trị',
    'Quy tắc cảnh báo',
    'Người nhận cảnh báo',
    'Thiết bị',
    'Nhật ký thao tác',
    'Sức khỏe hệ thống cảnh báo',
    'Màn hình tường',
  ],
};

describe('role-aware navigation', () => {
  const env = useMockAndBrowser();

  for (const role of Object.keys(EXPECTED) as MockRole[]) {
    it(`${role} sees exactly the views the role may use`, async () => {
      const page = await env.browser.newPage({ viewport: { width: 1366, height: 900 } });
      await login(page, env.server.url, role);
      const nav = page.getByRole('navigation', { name: 'Điều hướng chính' });
      // The Alarms item carries the count of unacknowledged alarms (the mock has some active).
      await expect
        .poll(async () => (await nav.getByRole('link').allInnerTexts()).map((text) => text.replace(/\s*\d+$/, '')))
        .toEqual(EXPECTED[role]);
      if (role !== 'viewer') await expect.poll(() => nav.getByTestId('unacked-badge').innerText()).toMatch(/^\d+$/);
      if (role === 'viewer') {
        // A viewer typing a technician URL gets a refusal, not the page.
        await page.goto(`${env.server.url}/gateways`);
        await expect.poll(() => page.getByRole('alert').first().innerText()).toContain('không có quyền');
      }
      await page.close();
    });
  }

  it('rejects a wrong password and switches to English', async () => {
    const page = await env.browser.newPage();
    await page.goto(env.server.url);
    await page.getByLabel('Tên đăng nhập').fill('operator');
    await page.getByLabel('Mật khẩu').fill('wrong');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toContain('Sai tên đăng nhập');
    await screenshot(page, 'login');
    await page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Sign in');
    await page.close();
  });
});
