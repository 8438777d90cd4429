import { describe, it } from 'vitest';
import { expectAccessible, useMockAndBrowser, login, screenshot } from './browser';

const VIEWS: Array<{ name: string; path: string; ready: string }> = [
  { name: 'alarms', path: '/alarms', ready: 'tr.desk-row' },
  { name: 'gateways', path: '/gateways', ready: 'article.gateway' },
  { name: 'device', path: '/devices/an-my-air-1', ready: 'table' },
  { name: 'data-quality', path: '/data-quality', ready: '[data-testid="dead-letters"]' },
  { name: 'admin-recipients', path: '/admin/recipients', ready: '[data-testid="recipients-table"] tbody tr' },
  { name: 'admin-devices', path: '/admin/devices', ready: '[data-testid="admin-devices"] tbody tr' },
  { name: 'account', path: '/account', ready: '[data-testid="password-form"]' },
];

describe('accessibility of login and the operations views (axe-core: no serious or critical violations)', () => {
  const env = useMockAndBrowser();

  it('login page', async () => {
    const page = await env.browser.newPage();
    await page.goto(env.server.url);
    await page.getByLabel('Tên đăng nhập').waitFor();
    await expectAccessible(page, 'login');
    await page.close();
  });

  // One test per view: each signs in and checks its own page, so a slow view cannot eat another's time.
  for (const view of VIEWS) {
    it(`${view.name}${view.name === 'alarms' ? ' (with an opened alarm)' : ''}`, async () => {
      const page = await env.browser.newPage({ viewport: { width: 1440, height: 900 } });
      await login(page, env.server.url, 'admin', view.path);
      await page.waitForSelector(view.ready, { timeout: 20_000 });
      await expectAccessible(page, view.name);
      await screenshot(page, `view-${view.name}`);
      if (view.name === 'alarms') {
        await page.locator('tr.desk-row').first().getByRole('button', { name: 'Chi tiết' }).click();
        await page.waitForSelector('.alarm-trail ol');
        await expectAccessible(page, 'alarm-detail');
        await screenshot(page, 'view-alarm-detail');
      }
      await page.close();
    });
  }

  it('the technician phone views, menu open and closed', async () => {
    const phone = await env.browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await login(phone, env.server.url, 'technician', '/gateways');
    await phone.waitForSelector('article.gateway');
    await expectAccessible(phone, 'gateways-phone');
    await phone.getByRole('button', { name: 'Menu' }).click();
    await phone.getByRole('link', { name: 'Chất lượng dữ liệu' }).click();
    await phone.waitForSelector('[data-testid="dead-letters"]');
    await expectAccessible(phone, 'data-quality-phone');
    await screenshot(phone, 'data-quality-phone');
    // Changing the password on a phone: the header link, the form fitting the screen.
    await phone.goto(`${env.server.url}/account`);
    await phone.waitForSelector('[data-testid="password-form"]');
    await expectAccessible(phone, 'account-phone');
    await screenshot(phone, 'account-phone');
    await phone.close();
  });
});
