import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { topics } from '@tamky/protocol';
import { createAlarmsModule } from '../../server/src/alarms';
import { mqttClient, PASSWORDS, startHarness, type Harness, type RoleName } from '../../server/test/helpers';
import { DIST_DIR, ensureBuilt, launchBrowser, screenshot } from './browser';

// What each role's navigation must show, in order (Vietnamese labels: the default language).
const EXPECTED: Record<RoleName, string[]> = {
  viewer: ['Tổng quan', 'Môi trường', 'Giao thông', 'Chiếu sáng', 'Báo cáo', 'Màn hình tường'],
  operator: ['Tổng quan', 'Môi trường', 'Giao thông', 'Chiếu sáng', 'Báo cáo', 'Cảnh báo', 'Màn hình tường'],
  technician: [
    'Tổng quan',
    'Môi trường',
    'Giao thông',
    'Chiếu sáng',
    'Báo cáo',
    'Cảnh báo',
    'Gateway',
    'Chất lượng dữ liệu',
    'Màn hình tường',
  ],
  admin: [
    'Tổng quan',
    'Môi trường',
    'Giao thông',
    'Chiếu sáng',
    'Báo cáo',
    'Cảnh báo',
    'Gateway',
    'Chất lượng dữ liệu',
    'Quản trị',
    'Quy tắc cảnh báo',
    'Người nhận cảnh báo',
    'Thiết bị',
    'Nhật ký thao tác',
    'Sức khỏe hệ thống cảnh báo',
    'Tin nhắn đã gửi',
    'Màn hình tường',
  ],
};

/** Navigation per role, in the real app against the real dashboard server (sessions, roles, the alarm count). */
describe('role-aware navigation', () => {
  const env = {} as { h: Harness; browser: Browser; gw: MqttClient; server: { url: string } };
  beforeAll(async () => {
    ensureBuilt();
    env.h = await startHarness({ modules: [createAlarmsModule({ tickMs: 200 })], config: { webDist: DIST_DIR } });
    env.server = { url: env.h.url };
    env.gw = await mqttClient(env.h.mqttUrl);
    const now = Date.now();
    // One active alarm, as the detector publishes it: the Alarms item shows its count.
    await env.gw.publishAsync(
      topics.alarmEvent('flood-level', 'an-phu-water-1'),
      JSON.stringify({
        ruleId: 'flood-level',
        sourceId: 'an-phu-water-1',
        state: 'raised',
        severity: 'critical',
        category: 'water',
        ward: 'an-phu',
        device: 'an-phu-water-1',
        value: 4.2,
        limit: 4,
        since: now,
        ts: now,
        message: { vi: 'Ngập An Phú', en: 'An Phú flood' },
      }),
      { qos: 1 },
    );
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.gw?.endAsync();
    await env.h?.close();
  });
  const login = async (page: Page, url: string, role: RoleName) => {
    await page.goto(url);
    await page.getByLabel('Tên đăng nhập').fill(role);
    await page.getByLabel('Mật khẩu').fill(PASSWORDS[role]);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByTestId('user').waitFor({ state: 'attached', timeout: 30_000 });
  };

  for (const role of Object.keys(EXPECTED) as RoleName[]) {
    it(`${role} sees exactly the views the role may use`, async () => {
      const page = await env.browser.newPage({ viewport: { width: 1366, height: 900 } });
      await login(page, env.server.url, role);
      const nav = page.getByRole('navigation', { name: 'Điều hướng chính' });
      // The Alarms item carries the count of unacknowledged alarms (one active).
      await expect
        .poll(async () => (await nav.getByRole('link').allInnerTexts()).map((text) => text.replace(/\s*\d+$/, '')))
        .toEqual(EXPECTED[role]);
      if (role !== 'viewer') await expect.poll(() => nav.getByTestId('unacked-badge').innerText(), { timeout: 15_000 }).toBe('1');
      if (role === 'viewer') {
        // A viewer typing a technician URL gets a refusal, not the page.
        await page.goto(`${env.server.url}/gateways`);
        await expect.poll(() => page.getByRole('alert').first().innerText()).toContain('không có quyền');
      }
      await page.close();
    });
  }

  it('rejects a wrong password and switches to English', async () => {
    const page = await env.browser.newPage();
    await page.goto(env.server.url);
    await page.getByLabel('Tên đăng nhập').fill('operator');
    await page.getByLabel('Mật khẩu').fill('wrong');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await expect.poll(() => page.getByRole('alert').innerText(), { timeout: 15_000 }).toContain('Sai tên đăng nhập');
    await screenshot(page, 'login');
    await page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Sign in');
    await page.close();
  });
});
