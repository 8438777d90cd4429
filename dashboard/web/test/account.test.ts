import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser, screenshot } from './browser';
import { api, login as apiLogin, PASSWORDS, startHarness, type Harness, type RoleName } from '../../server/test/helpers';

/** Changing one's own password in the real app against the real dashboard server (sessions, audit, hashes). */
describe('change my own password', () => {
  const env = {} as { h: Harness; browser: Browser; server: { url: string } };
  beforeAll(async () => {
    ensureBuilt();
    env.h = await startHarness({ config: { webDist: DIST_DIR } });
    env.server = { url: env.h.url };
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.h?.close();
  });
  const login = async (page: Page, url: string, role: RoleName) => {
    await page.goto(url);
    await page.getByLabel('Tên đăng nhập').fill(role);
    await page.getByLabel('Mật khẩu').fill(PASSWORDS[role]);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByTestId('user').waitFor({ state: 'attached', timeout: 20_000 });
  };
  const loginStatus = async (role: RoleName, password: string) =>
    (
      await fetch(`${env.h.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: role, password }),
      })
    ).status;

  it('from the header: needs the current password, checks the new one next to its field, then the old password stops working', async () => {
    const other = await env.browser.newPage();
    await login(other, env.server.url, 'operator');
    const page = await env.browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true }); // lets axe-core in past the server's CSP;
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
    expect(await loginStatus('operator', PASSWORDS.operator)).toBe(200); // unchanged (and a second other session)

    await form.getByLabel('Mật khẩu hiện tại').fill(PASSWORDS.operator);
    await form.getByRole('button', { name: 'Đổi mật khẩu' }).click();
    // The real server verifies the current password and hashes the new one (deliberately slow hashes).
    await expect
      .poll(() => page.getByTestId('account-outcome').innerText(), { timeout: 30_000 })
      .toContain('Đã đổi mật khẩu. Đã kết thúc 2 phiên');
    const audit = await api(env.h.url, await apiLogin(env.h.url, 'admin'), 'GET', '/api/audit?limit=50');
    const { entries } = (await audit.json()) as { entries: Array<{ user: string; action: string }> };
    expect(entries.find((e) => e.action === 'auth.password_change')).toMatchObject({ user: 'operator' });
    await screenshot(page, 'view-account');
    await expectAccessible(page, 'account');

    // This session stays; the other one ended; the old password no longer logs in, the new one does.
    expect(await page.evaluate(async () => (await fetch('/api/auth/me')).status)).toBe(200);
    expect(await other.evaluate(async () => (await fetch('/api/auth/me')).status)).toBe(401);
    const fresh = await env.browser.newPage();
    await fresh.goto(env.server.url);
    await fresh.getByLabel('Tên đăng nhập').fill('operator');
    await fresh.getByLabel('Mật khẩu').fill(PASSWORDS.operator);
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
