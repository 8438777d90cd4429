import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { topics, type AlarmEvent } from '@tamky/protocol';
import { createAlarmsModule } from '../../server/src/alarms';
import { api, KIOSK_TOKEN, login, mqttClient, startHarness, type Harness } from '../../server/test/helpers';
import { DIST_DIR, ensureBuilt, launchBrowser, screenshot } from './browser';

/**
 * The wall's kiosk sign-in and its rotation against the real dashboard server (real mosquitto, state DB and alarms
 * module, the built app in Debian's Chromium): what the server says decides what the wall shows.
 */
let h: Harness;
let mq: MqttClient;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  h = await startHarness({ modules: [createAlarmsModule({ tickMs: 200 })], config: { webDist: DIST_DIR } });
  mq = await mqttClient(h.mqttUrl);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await mq?.endAsync();
  await h?.close();
});

function gatewayAlarm(): AlarmEvent {
  const ts = Date.now();
  return {
    ruleId: 'gateway-silent',
    sourceId: 'gw-an-phu',
    state: 'raised',
    severity: 'major',
    category: 'equipment',
    ward: 'an-phu',
    gateway: 'gw-an-phu',
    value: null,
    limit: null,
    since: ts - 120_000,
    ts,
    message: { vi: 'Gateway An Phú mất kết nối', en: 'Gateway An Phú offline' },
  };
}

describe('wall mode on the real server', () => {
  it('signs in with a kiosk token and rotates panels without chrome or cursor once no alarm takes it over', async () => {
    await mq.publishAsync(topics.alarmEvent('gateway-silent', 'gw-an-phu'), JSON.stringify(gatewayAlarm()), { qos: 1 });
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.url}/wall?kiosk=${KIOSK_TOKEN}&rotate=3&sound=off`);
    const wall = page.locator('.wall');
    await wall.waitFor();
    expect(await page.locator('nav').count()).toBe(0);
    // The kiosk session is the server's read-only wall account.
    expect(await page.locator('[data-user]').getAttribute('data-user')).toBe('viewer');
    // An unacknowledged major alarm: the wall is pinned to the alarm list under its banner.
    await expect.poll(() => wall.getAttribute('data-panel'), { timeout: 30_000 }).toBe('alarms');
    await expect.poll(() => page.getByTestId('alarm-banner').count()).toBe(1);
    // An operator acknowledges it through the API: the banner goes and the rotation resumes.
    const operator = await login(h.url, 'operator');
    const { alarms } = (await (await api(h.url, operator, 'GET', '/api/alarms?state=active')).json()) as { alarms: Array<{ id: string }> };
    expect(alarms).toHaveLength(1);
    expect((await api(h.url, operator, 'POST', `/api/alarms/${alarms[0]!.id}/ack`, {})).status).toBe(200);
    await expect.poll(() => page.getByTestId('alarm-banner').count(), { timeout: 30_000 }).toBe(0);
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await wall.getAttribute('data-panel')) ?? '');
          return seen.size;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBeGreaterThanOrEqual(3);
    expect(await page.evaluate(() => getComputedStyle(document.body).cursor)).toBe('none');
    await screenshot(page, 'wall-1080p');
    await page.close();
  });

  it('a wrong kiosk token opens no wall and says why', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.url}/wall?kiosk=not-the-token&sound=off`);
    await page.getByText('Mã kiosk không hợp lệ').waitFor();
    expect(await page.locator('.wall').count()).toBe(0);
    await page.close();
  });
});
