import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DIST_DIR, ensureBuilt, launchBrowser } from './browser';
import { PASSWORDS, startHarness, type Harness } from '../../server/test/helpers';

/** An admin creates and revokes an API token in the real app against the real dashboard server. */
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

describe('API tokens in the admin view', () => {
  it('creates a ward-limited token shown once, which reads that ward, then revokes it after confirmation', async () => {
    const page = await browser.newPage();
    await page.goto(`${h.url}/admin`);
    await page.getByLabel('Tên đăng nhập').fill('admin');
    await page.getByLabel('Mật khẩu').fill(PASSWORDS.admin);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    const section = page.getByTestId('admin-tokens');
    await section.waitFor({ timeout: 20_000 });
    await page.getByTestId('token-name').fill('Grafana Sở TNMT');
    await section.getByLabel('An Mỹ').check();
    await section.getByRole('button', { name: 'Tạo khoá' }).click();
    const text = (await page.getByTestId('token-created').locator('code').textContent({ timeout: 20_000 }))!;
    expect(text).toMatch(/^tkc_/);
    await expect.poll(() => section.getByRole('row', { name: /Grafana Sở TNMT/ }).count()).toBe(1);

    const city = await fetch(`${h.url}/api/city`, { headers: { authorization: `Bearer ${text}` } });
    expect(city.status).toBe(200);
    expect(((await city.json()) as { wards: Array<{ id: string }> }).wards.map((w) => w.id)).toEqual(['an-my']);

    await section
      .getByRole('row', { name: /Grafana Sở TNMT/ })
      .getByRole('button', { name: 'Thu hồi' })
      .click();
    await page.locator('dialog[open]').getByTestId('confirm').click();
    await expect.poll(() => section.getByRole('row', { name: /Đã thu hồi/ }).count(), { timeout: 20_000 }).toBe(1);
    expect((await fetch(`${h.url}/api/city`, { headers: { authorization: `Bearer ${text}` } })).status).toBe(401);
    await page.close();
  });
});
