import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { DIST_DIR, ensureBuilt, launchBrowser, login } from './browser';
import { startMockServer, type MockServer } from './mock-server';

describe('lighting commands and CSV export', () => {
  let server: MockServer;
  let browser: Browser;
  beforeAll(async () => {
    ensureBuilt();
    server = await startMockServer({ distDir: DIST_DIR });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a technician dims one lamp group after confirming; cancelling sends nothing', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await login(page, server.url, 'technician', '/lighting');
    await page.getByLabel('Tủ điều khiển').selectOption('an-my-light-1');
    await page.getByLabel('Nhóm đèn').selectOption('3');
    await page.getByRole('button', { name: 'Giảm sáng 50%' }).click();
    await page.getByTestId('lighting-apply').click();
    await page.getByRole('button', { name: 'Hủy' }).click();
    expect(server.commands).toHaveLength(0);

    await page.getByTestId('lighting-apply').click();
    expect(await page.locator('dialog[open] h2').innerText()).toContain('Đèn 3');
    await page.getByTestId('confirm').click();
    await expect.poll(() => server.commands.length).toBe(1);
    expect(server.commands[0]).toEqual({ gateway: 'gw-an-my', body: { type: 'write_register', device: 'an-my-light-1', field: 'lamp3_level', value: 50 } });
    await expect.poll(() => page.locator('.command-status').innerText(), { timeout: 10_000 }).toBe('Lệnh đã thực hiện');
    await page.close();
  });

  it('a viewer sees the lighting charts but no lamp controls', async () => {
    const page = await browser.newPage();
    await login(page, server.url, 'viewer', '/lighting');
    await page.waitForSelector('[data-testid="chart"]', { timeout: 20_000 });
    expect(await page.getByTestId('lighting-apply').count()).toBe(0);
    // The live cabinet table: one row per cabinet, lamp states spelled out.
    const rows = page.getByTestId('cabinets').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(server.city.devices.filter((d) => d.kind === 'street_light').length);
    await expect.poll(() => rows.first().innerText()).toMatch(/\d+ bật · \d+ giảm · \d+ tắt · \d+ hỏng/);
    await page.close();
  });

  it('every chart has a CSV export of exactly its query', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await login(page, server.url, 'viewer', '/environment');
    await page.getByTestId('metric').selectOption({ label: 'Độ ồn' });
    const link = page.getByTestId('csv').first();
    await expect.poll(() => link.getAttribute('href')).toContain('kind=noise_meter');
    const href = (await link.getAttribute('href'))!;
    const params = new URL(href, server.url).searchParams;
    expect(params.get('fields')).toBe('laeq');
    expect(Number(params.get('windowMs'))).toBe(300_000);
    // Fetched with the page's session cookie, as the browser's download would be.
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), href);
    expect(csv.split('\n')[0]).toBe('time,device,ward,field,value');
    expect(csv).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z,an-my-noise-1,an-my,laeq,\d+/);
    await page.close();
  });
});
