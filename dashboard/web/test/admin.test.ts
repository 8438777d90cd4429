import { describe, expect, it } from 'vitest';
import { expectAccessible, useMockAndBrowser, login, screenshot, signedInPage } from './browser';

describe('administration views (admin role)', () => {
  const env = useMockAndBrowser();

  it('admin sees Quản trị in the navigation and creates a user after confirming', async () => {
    const page = await signedInPage(env.browser, env.server.url, 'admin');
    await page.getByRole('navigation', { name: 'Điều hướng chính' }).getByRole('link', { name: 'Quản trị', exact: true }).click();
    await page.waitForSelector('[data-testid="admin-users"] tbody tr');
    expect(await page.locator('[data-testid="admin-users"] tbody tr').count()).toBe(4);
    // Recipients, devices and rules have their own screens, linked from here.
    expect(await page.getByTestId('admin-more').getByRole('link').allInnerTexts()).toEqual([
      'Người nhận cảnh báo',
      'Thiết bị',
      'Quy tắc cảnh báo',
    ]);

    const form = page.getByTestId('create-user');
    await form.getByLabel('Tên đăng nhập').fill('lan.nguyen');
    await form.getByLabel('Họ tên').fill('Nguyễn Thị Lan');
    await form.getByLabel('Vai trò').selectOption('operator');
    // Too short: refused in the form, nothing sent.
    await form.getByLabel(/Mật khẩu/).fill('ngan');
    await form.getByRole('button', { name: 'Tạo tài khoản' }).click();
    await expect.poll(() => form.getByRole('alert').innerText()).toContain('ít nhất 12');
    expect(env.server.adminAudit).toHaveLength(0);

    await form.getByLabel(/Mật khẩu/).fill('ca-truc-dem-2026');
    await form.getByRole('button', { name: 'Tạo tài khoản' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.innerText()).toContain('lan.nguyen');
    await dialog.getByTestId('confirm').click();
    await page.waitForSelector('tr[data-user="lan.nguyen"]');
    expect(await page.locator('tr[data-user="lan.nguyen"]').innerText()).toContain('Điều hành viên');
    expect(env.server.adminAudit.at(-1)).toMatchObject({
      user: 'admin',
      action: 'user.create',
      detail: { username: 'lan.nguyen', role: 'operator' },
    });
    await expect.poll(() => page.getByTestId('admin-message').innerText()).toContain('lan.nguyen');
    await expectAccessible(page, 'admin');
    await screenshot(page, 'view-admin');

    // Disable, confirmed; then the row says so.
    await page.getByRole('button', { name: 'Vô hiệu hoá: lan.nguyen' }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    await expect.poll(() => page.locator('tr[data-user="lan.nguyen"]').innerText()).toContain('Đã vô hiệu hoá');

    // Role change, cancelled: nothing sent.
    const before = env.server.adminAudit.length;
    await page.getByLabel('Vai trò của operator').selectOption('technician');
    await page.locator('tr[data-user="operator"]').getByRole('button', { name: 'Đổi vai trò' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Hủy' }).click();
    expect(env.server.adminAudit.length).toBe(before);

    // Password reset, with the new password typed in the confirmation dialog.
    await page.getByRole('button', { name: 'Đặt lại mật khẩu: viewer' }).click();
    await page.getByRole('dialog').getByTestId('new-password').fill('mat-khau-moi-2026');
    await expectAccessible(page, 'admin-password-dialog');
    await page.getByRole('dialog').getByTestId('confirm').click();
    await expect.poll(() => env.server.adminAudit.at(-1)?.detail).toEqual({ username: 'viewer', fields: ['password'] });
    expect(JSON.stringify(env.server.adminAudit)).not.toContain('mat-khau-moi-2026');
    await page.close();
  });

  it('a technician does not see Quản trị and is refused at /admin', async () => {
    const page = await env.browser.newPage();
    await login(page, env.server.url, 'technician');
    const nav = page.getByRole('navigation', { name: 'Điều hướng chính' });
    await expect.poll(() => nav.getByRole('link').allInnerTexts()).toContain('Gateway');
    expect(await nav.getByRole('link').allInnerTexts()).not.toContain('Quản trị');
    await page.goto(`${env.server.url}/admin`);
    await expect.poll(() => page.getByRole('alert').first().innerText()).toContain('không có quyền');
    expect(await page.locator('[data-testid="admin-users"]').count()).toBe(0);
    await page.close();
  });

  it('rules: shows the current set, validates, saves with baseVersion and shows a 409 conflict clearly', async () => {
    const page = await signedInPage(env.browser, env.server.url, 'admin', '/rules');
    await expect.poll(() => page.getByTestId('rules-version').innerText()).toContain('Phiên bản 3');
    const editor = page.getByLabel('Bộ quy tắc (JSON: mảng các quy tắc)');
    // The editor is filled by an effect after the version is drawn: wait for it, not for the version.
    await expect.poll(() => editor.inputValue()).toContain('pm25-high');
    await expectAccessible(page, 'rules');

    await editor.fill('[{"kind": "noise_meter"}]');
    await page.getByRole('button', { name: 'Kiểm tra' }).click();
    await expect.poll(() => page.getByTestId('rules-outcome').innerText()).toContain('rules.0.id');
    await editor.fill('[{"id": "noise-night", "kind": "noise_meter"}');
    await page.getByRole('button', { name: 'Kiểm tra' }).click();
    await expect.poll(() => page.getByTestId('rules-outcome').innerText()).toContain('JSON không hợp lệ');
    // The message says where: line and column.
    await editor.fill('[\n {"id": "noise-night",\n  "kind" "noise_meter"}\n]');
    await page.getByRole('button', { name: 'Kiểm tra' }).click();
    await expect.poll(() => page.getByTestId('rules-outcome').innerText()).toMatch(/JSON không hợp lệ \(dòng 3, cột \d+\)/);

    await editor.fill('[{"id": "noise-night", "kind": "noise_meter"}]');
    await page.getByRole('button', { name: 'Kiểm tra' }).click();
    await expect.poll(() => page.getByTestId('rules-outcome').innerText()).toContain('Hợp lệ: 1');
    await page.getByRole('button', { name: 'Lưu' }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    await expect.poll(() => page.getByTestId('rules-outcome').innerText()).toContain('phiên bản 4');

    // Someone else saves meanwhile: the stale save is refused with 409 and the page says so.
    env.server.bumpRules();
    await editor.fill('[{"id": "noise-day", "kind": "noise_meter"}]');
    await page.getByRole('button', { name: 'Lưu' }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    const outcome = page.getByTestId('rules-outcome').getByRole('alert');
    await expect.poll(() => outcome.innerText()).toContain('Xung đột');
    await screenshot(page, 'view-rules-conflict');
    await expectAccessible(page, 'rules-conflict');
    await page.getByRole('button', { name: 'Tải lại bản mới nhất' }).click();
    await expect.poll(() => page.getByTestId('rules-version').innerText()).toContain('Phiên bản 5');
    await page.close();
  });
});
