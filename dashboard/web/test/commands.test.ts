import { describe, expect, it } from 'vitest';
import { useMockAndBrowser, login } from './browser';

describe('lighting commands and CSV export', () => {
  const env = useMockAndBrowser();

  it('a technician dims one lamp group after confirming; cancelling sends nothing', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1366, height: 900 } });
    await login(page, env.server.url, 'technician', '/lighting');
    await page.getByLabel('Tủ điều khiển').selectOption('an-my-light-1');
    await page.getByLabel('Nhóm đèn').selectOption('3');
    await page.getByRole('button', { name: 'Giảm sáng 50%' }).click();
    await page.getByTestId('lighting-apply').click();
    await page.getByRole('button', { name: 'Hủy' }).click();
    expect(env.server.commands).toHaveLength(0);

    await page.getByTestId('lighting-apply').click();
    expect(await page.locator('dialog[open] h2').innerText()).toContain('Đèn 3');
    await page.getByTestId('confirm').click();
    await expect.poll(() => env.server.commands.length).toBe(1);
    expect(env.server.commands[0]).toEqual({
      gateway: 'gw-an-my',
      body: { type: 'write_register', device: 'an-my-light-1', field: 'lamp3_level', value: 50 },
    });
    await expect.poll(() => page.locator('.command-status').innerText(), { timeout: 10_000 }).toBe('Lệnh đã thực hiện');
    await page.close();
  });

  it('a viewer sees the lighting charts but no lamp controls', async () => {
    const page = await env.browser.newPage();
    await login(page, env.server.url, 'viewer', '/lighting');
    await page.waitForSelector('[data-testid="chart"]', { timeout: 20_000 });
    expect(await page.getByTestId('lighting-apply').count()).toBe(0);
    // The live cabinet table: one row per cabinet, lamp states spelled out.
    const rows = page.getByTestId('cabinets').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(env.server.city.devices.filter((d) => d.kind === 'street_light').length);
    await expect.poll(() => rows.first().innerText()).toMatch(/\d+ bật · \d+ giảm · \d+ tắt · \d+ hỏng/);
    await page.close();
  });

  it('every chart has a CSV export of exactly its query', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1366, height: 900 } });
    await login(page, env.server.url, 'viewer', '/environment');
    await page.getByTestId('metric').selectOption({ label: 'Độ ồn' });
    const link = page.getByTestId('csv').first();
    await expect.poll(() => link.getAttribute('href')).toContain('kind=noise_meter');
    const href = (await link.getAttribute('href'))!;
    const params = new URL(href, env.server.url).searchParams;
    expect(params.get('fields')).toBe('laeq');
    expect(Number(params.get('windowMs'))).toBe(300_000);
    // Fetched with the page's session cookie, as the browser's download would be.
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), href);
    expect(csv.split('\n')[0]).toBe('time,device,ward,field,value');
    expect(csv).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z,an-my-noise-1,an-my,laeq,\d+/);
    await page.close();
  });
});
