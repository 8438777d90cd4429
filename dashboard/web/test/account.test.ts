import { describe, expect, it } from 'vitest';
import { expectAccessible, login, screenshot, useMockAndBrowser } from './browser';
import { USERS } from './mock-server';

describe('change my own password', () => {
  const env = useMockAndBrowser();

  it('from the header: needs the current password, checks the new one next to its field, then the old password stops working', async () => {
    const other = await env.browser.newPage();
    await login(other, env.server.url, 'operator');
    const page = await env.browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    await login(page, env.server.url, 'operator');
    await page.getByTestId('account-link').click();
    await page.getByRole('heading', { name: 'Tài khoản của tôi' }).waitFor();
    const form = page.getByTestId('password-form');

    await form.getByLabel('Mật khẩu hiện tại').fill('sai-mat-khau');
    await form.getByLabel('Mật khẩu mới (ít nhất 12 ký tự)').fill('ngan');
    await form.getByLabel('Nhập lại mật khẩu mới').fill('khac');
    await form.getByRole('button', { name: 'Đổi mật khẩu' }).click();
    await expect.poll(() => page.getByTestId('pw-next-error').innerText()).toContain('ít nhất 12');
    expect(await page.getByTestId('pw-repeat-error').innerText()).toContain('không khớp');
    await expectAccessible(page, 'account-errors');

    await form.getByLabel('Mật khẩu mới (ít nhất 12 ký tự)').fill('ca-dem-an-toan-2026');
    await form.getByLabel('Nhập lại mật khẩu mới').fill('ca-dem-an-toan-2026');
    await form.getByRole('button', { name: 'Đổi mật khẩu' }).click();
    await expect.poll(() => page.getByTestId('pw-current-error').innerText()).toContain('không đúng');
    expect(env.server.passwordOf('operator')).toBe(USERS.operator.password);

    await form.getByLabel('Mật khẩu hiện tại').fill(USERS.operator.password);
    await form.getByRole('button', { name: 'Đổi mật khẩu' }).click();
    await expect.poll(() => page.getByTestId('account-outcome').innerText()).toContain('Đã đổi mật khẩu. Đã kết thúc 1 phiên');
    expect(env.server.adminAudit.at(-1)).toMatchObject({ user: 'operator', action: 'auth.password_change' });
    await screenshot(page, 'view-account');
    await expectAccessible(page, 'account');

    // This session stays; the other one ended; the old password no longer logs in, the new one does.
    expect(await page.evaluate(async () => (await fetch('/api/auth/me')).status)).toBe(200);
    expect(await other.evaluate(async () => (await fetch('/api/auth/me')).status)).toBe(401);
    const fresh = await env.browser.newPage();
    await fresh.goto(env.server.url);
    await fresh.getByLabel('Tên đăng nhập').fill('operator');
    await fresh.getByLabel('Mật khẩu').fill(USERS.operator.password);
    await fresh.getByRole('button', { name: 'Đăng nhập' }).click();
    await expect.poll(() => fresh.getByRole('alert').first().innerText()).toBeTruthy();
    expect(await fresh.getByTestId('user').count()).toBe(0);
    await fresh.getByLabel('Mật khẩu').fill('ca-dem-an-toan-2026');
    await fresh.getByRole('button', { name: 'Đăng nhập' }).click();
    await fresh.getByTestId('user').waitFor({ state: 'attached' });
    await Promise.all([other.close(), page.close(), fresh.close()]);
  });

  it('every logged-in role reaches it from the header', async () => {
    for (const role of ['viewer', 'technician', 'admin'] as const) {
      const page = await env.browser.newPage();
      await login(page, env.server.url, role);
      await page.getByTestId('account-link').click();
      await page.getByTestId('password-form').waitFor();
      await page.close();
    }
  });
});
