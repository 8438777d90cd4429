import { describe, expect, it } from 'vitest';
import { useMockAndBrowser, login, screenshot } from './browser';

describe('gateways on a phone', () => {
  const env = useMockAndBrowser();

  it('a technician at 390×844 sees offline gateways first, last seen, outbox, readings lost on the box, poll errors and reads now', async () => {
    const page = await env.browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await login(page, env.server.url, 'technician', '/gateways');
    const cards = page.locator('article.gateway');
    await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(env.server.city.gateways.length);
    const first = cards.first();
    expect(await first.getByTestId('gw-state').innerText()).toContain('Ngoại tuyến');
    expect(await first.innerText()).toMatch(/\d+ phút trước/);
    expect(await first.getByTestId('outbox').innerText()).toBe('1.250 bản ghi');
    // Readings lost on the box (its disk was full) are shown, not left for the technician to find in logs.
    expect(await first.getByTestId('not-durable').innerText()).toMatch(
      /Không lưu được\s+256 bản ghi bị mất \(đĩa đầy hoặc lỗi ghi trên gateway\)/,
    );
    expect(await cards.nth(1).getByTestId('not-durable').count()).toBe(0);
    // Its clock: not synchronised (its readings are marked), how far off the centre, the step it took.
    expect(await first.getByTestId('gw-clock').innerText()).toMatch(
      /Đồng hồ\s+chưa đồng bộ \(thời gian bản ghi chưa tin cậy\) · lệch 95 giây so với trung tâm · bước nhảy gần nhất -3\.600 giây, 50 phút trước/,
    );
    expect(await cards.nth(1).getByTestId('gw-clock').count()).toBe(0);
    // The gateway's own alarm (its clock off) appears on its card as it is raised.
    const gw = (await first.getAttribute('data-gateway'))!;
    env.server.push({
      type: 'alarm',
      alarm: {
        ...env.server.alarms[0]!,
        id: 'gw-clock-1',
        ruleId: 'gateway-clock',
        sourceId: gw,
        severity: 'warning',
        category: 'equipment',
        device: null,
        kind: null,
        gateway: gw,
        state: 'active',
        message: { vi: 'Đồng hồ gateway lệch 95 giây', en: 'Gateway clock 95 s off' },
      },
    });
    await expect.poll(() => first.getByTestId('gw-alarms').innerText(), { timeout: 10_000 }).toMatch(/Lưu ý: Đồng hồ gateway lệch 95 giây/);
    expect(await cards.nth(1).getByTestId('gw-alarms').count()).toBe(0);
    // Nothing overflows sideways on the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'gateways-phone');

    const online = cards.nth(1);
    // Devices with poll errors are listed without a tap.
    expect(await online.locator('details.gw-devices').getAttribute('open')).not.toBeNull();
    expect(await online.innerText()).toMatch(/7 quá hạn · 2 lỗi CRC/);
    expect(await online.innerText()).toMatch(/Lỗi gần nhất: timeout after 1000 ms \(11 phút trước\)/);
    const gwId = await online.getAttribute('data-gateway');
    await online.getByTestId('read-now').click();
    await expect.poll(() => env.server.commands.find((c) => c.gateway === gwId)?.body.type).toBe('read_now');
    await expect.poll(() => online.locator('.command-status').innerText(), { timeout: 10_000 }).toBe('Lệnh đã thực hiện');
    await screenshot(page, 'gateways-phone-command');

    // Device page from the gateway card.
    await online.locator('.gw-devices a').first().click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toContain('Thiết bị');
    await page.close();
  });
});
