import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import type { Report, StoredReading } from '@tamky/protocol';
import { Deriver, loadLimits } from '@tamky/ingest';
import { DIST_DIR, REPO_DIR, ensureBuilt, launchBrowser } from './browser';
import { loadCity, PASSWORDS, startHarness, type Harness } from '../../server/test/helpers';
import { LOCAL_OFFSET, monthCity, monthReadings } from '../../server/test/report-month';

/**
 * The printable Reports page in the real app against the real dashboard server over seeded readings: a viewer
 * picks a day and a ward, the tables say what the API says, the VN_AQI columns wear the configured colours, and
 * in print media only the report is left.
 */
const DAY = 86_400_000;
const NOV_20 = Date.UTC(2026, 10, 20) - LOCAL_OFFSET;
const city = monthCity(loadCity(), ['an-my', 'an-phu']);
const LEVELS = (
  parseYaml(readFileSync(join(REPO_DIR, 'config/limits/vn-aqi.yaml'), 'utf8')) as { levels: Array<{ vi: string; rgb: number[] }> }
).levels;

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  h = await startHarness({ city, config: { webDist: DIST_DIR } });
  const deriver = new Deriver(loadLimits(join(REPO_DIR, 'config/limits')), city);
  const derived = new Map<string, StoredReading>();
  for (const chunk of monthReadings({ from: NOV_20 - DAY, to: NOV_20 + DAY, devices: city.devices })) {
    await h.store.writeBatch(chunk);
    for (const d of deriver.ingest(chunk)) derived.set(`${d.kind}|${d.device}|${d.ts}`, d);
  }
  await h.store.writeBatch([...derived.values()]);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('Reports page', () => {
  it('shows the daily ward report as the API answers it, in the official colours, and prints only the report', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    await page.goto(`${h.url}/reports`);
    await page.getByLabel('Tên đăng nhập').fill('viewer');
    await page.getByLabel('Mật khẩu').fill(PASSWORDS.viewer);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByLabel('Loại báo cáo').selectOption('daily');
    await page.getByLabel('Kỳ báo cáo').fill('2026-11-20');
    await page.getByLabel('Phường/xã').selectOption('an-phu');
    await page.getByRole('heading', { name: 'Báo cáo ngày 2026-11-20' }).waitFor();
    await page.getByText('Phường/xã: An Phú').waitFor();

    const api = (await (await page.request.get(`${h.url}/api/reports/daily?period=2026-11-20&ward=an-phu`)).json()) as Report;
    const air = page.getByTestId('report-air');
    const headers = air.locator('thead th');
    for (const [i, l] of LEVELS.entries()) {
      await expect.poll(() => headers.nth(i + 1).textContent()).toBe(l.vi);
      expect(await headers.nth(i + 1).evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(`rgb(${l.rgb.join(', ')})`);
    }
    const airRow = await air.locator('tbody tr').first().locator('td').allTextContents();
    const w = api.air.wards[0]!;
    expect(airRow.slice(0, LEVELS.length).map(Number)).toEqual(api.air.levels.map((l) => w.daysByLevel[l.id]));
    expect(api.flood.events).toHaveLength(1);
    await expect.poll(() => page.getByTestId('report-flood').locator('tbody tr').count()).toBe(1);
    const flood = await page.getByTestId('report-flood').locator('tbody tr td').allTextContents();
    expect(flood[3]).toBe(String(api.flood.events[0]!.durationMin));
    const noise = page.getByTestId('report-noise');
    expect(await noise.locator('thead th').allTextContents()).toEqual([
      'Phường/xã',
      'Khu vực',
      'Thời gian',
      'Giới hạn (dBA)',
      'Số giờ đo',
      'Số giờ vượt',
      'LAeq cao nhất (dBA)',
    ]);
    expect(await noise.locator('tbody tr').count()).toBe(api.noise.rows.length);
    expect(await noise.locator('tbody tr').first().locator('th').textContent()).toBe('An Phú');
    const alarms = page.getByTestId('report-alarms');
    expect(await alarms.locator('tbody tr').count()).toBe(api.alarms.bySeverity.length);
    const lighting = page.getByTestId('report-lighting');
    const total = await lighting.locator('tbody tr').last().locator('th, td').allTextContents();
    expect(total.slice(1, 3)).toEqual(['', '']);
    expect(total[3]).toBe(api.lighting.totalEnergyKwh.toLocaleString('vi-VN', { maximumFractionDigits: 1 }));

    const pdfHref = (await page.getByTestId('report-pdf').getAttribute('href'))!;
    expect(pdfHref).toContain('format=pdf');
    const pdf = await page.request.get(`${h.url}${pdfHref}`);
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect(pdf.headers()['content-disposition']).toContain('bao-cao-ngay-2026-11-20-an-phu.pdf');

    await page.emulateMedia({ media: 'print' });
    expect(await page.getByLabel('Chọn báo cáo').isVisible()).toBe(false);
    expect(await page.getByRole('navigation', { name: 'Điều hướng chính' }).isVisible()).toBe(false);
    expect(await page.getByTestId('report').isVisible()).toBe(true);
    await page.close();
  });
});
