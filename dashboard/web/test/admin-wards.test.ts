import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { login as apiLogin, PASSWORDS, startHarness, type Harness } from '../../server/test/helpers';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser } from './browser';

/**
 * An existing account's ward scope edited on the admin screen, against the real dashboard server: the change
 * is saved (read back from /api/users), audited with the wards before and after (/api/audit), ends the
 * account's sessions, and going back to the whole city works too.
 */
let h: Harness;
let browser: Browser;
beforeAll(async () => {
  ensureBuilt();
  h = await startHarness({ config: { webDist: DIST_DIR } });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe("admin: an account's wards", () => {
  it('limits an existing account to two wards and back to the whole city, audited, ending its sessions', async () => {
    const admin = await apiLogin(h.url, 'admin');
    const viewer = await apiLogin(h.url, 'viewer');
    const users = async () =>
      (
        (await (await fetch(`${h.url}/api/users`, { headers: { cookie: admin.cookie } })).json()) as {
          users: Array<{ username: string; wards?: string[] }>;
        }
      ).users;
    expect((await users()).find((u) => u.username === 'viewer')?.wards ?? []).toEqual([]);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true }); // bypassCSP: axe-core is injected inline
    page.setDefaultTimeout(20_000);
    await page.goto(`${h.url}/admin`);
    await page.getByLabel('Tên đăng nhập').fill('admin');
    await page.getByLabel('Mật khẩu').fill(PASSWORDS.admin);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    const row = page.locator('tr[data-user="viewer"]');
    await expect.poll(() => row.getByTestId('user-wards').textContent(), { timeout: 20_000 }).toBe('Toàn thành phố');

    await row.getByRole('button', { name: 'Đổi phạm vi phường, xã của viewer' }).click();
    await page.getByTestId('edit-wards').selectOption(['an-phu', 'an-my']);
    await expectAccessible(page, 'admin-edit-wards');
    await page.getByRole('button', { name: 'Xác nhận' }).click();
    const names = ['an-my', 'an-phu'].map((id) => h.city.wards.find((w) => w.id === id)!.name);
    await expect.poll(() => row.getByTestId('user-wards').textContent(), { timeout: 20_000 }).toBe(names.join(', '));

    // Saved in the city's ward order, audited with before and after, and the viewer's session ended.
    expect((await users()).find((u) => u.username === 'viewer')?.wards).toEqual(['an-my', 'an-phu']);
    const audit = (await (await fetch(`${h.url}/api/audit?action=user.update`, { headers: { cookie: admin.cookie } })).json()) as {
      entries: Array<{ user: string; action: string; detail: { username: string; changes: { wards?: { from: string[]; to: string[] } } } }>;
    };
    expect(audit.entries.find((e) => e.detail.username === 'viewer')).toMatchObject({
      user: 'admin',
      action: 'user.update',
      detail: { changes: { wards: { from: [], to: ['an-my', 'an-phu'] } } },
    });
    expect((await fetch(`${h.url}/api/overview`, { headers: { cookie: viewer.cookie } })).status).toBe(401);

    // Back to the whole city: nothing chosen.
    await row.getByRole('button', { name: 'Đổi phạm vi phường, xã của viewer' }).click();
    await page.getByTestId('edit-wards').selectOption([]);
    await page.getByRole('button', { name: 'Xác nhận' }).click();
    await expect.poll(() => row.getByTestId('user-wards').textContent(), { timeout: 20_000 }).toBe('Toàn thành phố');
    expect((await users()).find((u) => u.username === 'viewer')?.wards ?? []).toEqual([]);
    await page.close();
  });
});
