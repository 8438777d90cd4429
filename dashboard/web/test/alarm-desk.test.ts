import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type AlarmEvent, type CityModel } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { createAlarmsModule } from '../../server/src/alarms';
import {
  api,
  loadCity,
  login as apiLogin,
  mqttClient,
  PASSWORDS,
  startHarness,
  type Harness,
  type RoleName,
} from '../../server/test/helpers';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser, REPO_DIR, screenshot } from './browser';

/**
 * The alarm desk in Debian's Chromium against the real dashboard server (real MQTT broker, state DB and
 * store, the alarms module with the city's default rules). Alarm events arrive on MQTT as ingest's
 * detector publishes them.
 */
const GATEWAY = 'gw-an-phu';
const WATER = 'an-phu-water-1';

/** The city with 15 more sensors behind gw-an-phu: 20 devices on one gateway. */
function cityWith20Devices(): CityModel {
  const city = loadCity();
  const template = city.devices.find((d) => d.id === 'an-phu-noise-1')!;
  const extra = Array.from({ length: 15 }, (_, i) => ({ ...template, id: `an-phu-noise-x${i + 1}`, name: `Máy đo ồn phụ ${i + 1}` }));
  return { ...city, devices: [...city.devices, ...extra] };
}

let h: Harness;
let mq: MqttClient;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  h = await startHarness({
    city: cityWith20Devices(),
    modules: [
      createAlarmsModule({
        rulesFile: join(REPO_DIR, 'config/rules/default.yaml'),
        reopenWindowS: 1800,
        burstWindowS: 300,
        tickMs: 3_600_000,
      }),
    ],
    config: { webDist: DIST_DIR },
  });
  mq = await mqttClient(h.mqttUrl);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await mq?.endAsync();
  await h?.close();
});

const publish = (e: AlarmEvent) => mq.publishAsync(topics.alarmEvent(e.ruleId, e.sourceId), JSON.stringify(e), { qos: 1 });

function event(over: Partial<AlarmEvent> & Pick<AlarmEvent, 'ruleId' | 'sourceId'>): AlarmEvent {
  const ts = Date.now();
  return {
    state: 'raised',
    severity: 'minor',
    category: 'equipment',
    ward: 'an-phu',
    value: 1,
    limit: 1,
    since: ts - 60_000,
    ts,
    message: { vi: `${over.sourceId} có sự cố`, en: `${over.sourceId} has a problem` },
    ...over,
  };
}

async function openAlarms(role: RoleName = 'operator', path = '/alarms', opts: { bypassCSP?: boolean } = {}): Promise<Page> {
  // axe-core is injected as an inline script, which the server's CSP rightly refuses: those pages bypass it.
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, ...opts });
  page.setDefaultTimeout(20_000);
  await page.goto(`${h.url}${path}`);
  await page.getByLabel('Tên đăng nhập').fill(role);
  await page.getByLabel('Mật khẩu').fill(PASSWORDS[role]);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('user').waitFor({ state: 'attached' });
  return page;
}

async function alarmsVia(query: string): Promise<
  Array<{
    id: string;
    ruleId: string;
    sourceId: string;
    state: string;
    parentId: string | null;
    assignee: string | null;
    reopenCount: number;
  }>
> {
  const s = await apiLogin(h.url, 'viewer');
  return (await (await api(h.url, s, 'GET', `/api/alarms?${query}`)).json()).alarms;
}

describe('the alarm desk against the real server', () => {
  it('a gateway with 20 devices goes offline: 1 alarm group at the desk and 0 separate device alarms', async () => {
    const devices = h.city.devices.filter((d) => d.gateway === GATEWAY);
    expect(devices).toHaveLength(20);
    const silent = (d: { id: string }) =>
      event({
        ruleId: 'device-silent',
        sourceId: d.id,
        device: d.id,
        gateway: GATEWAY,
        kind: 'noise_meter',
        message: { vi: `${d.id} mất dữ liệu`, en: `${d.id} silent` },
      });
    // Some devices are noticed before their gateway, the rest after: both end up under the gateway alarm.
    for (const d of devices.slice(0, 8)) await publish(silent(d));
    await publish(
      event({
        ruleId: 'gateway-silent',
        sourceId: GATEWAY,
        gateway: GATEWAY,
        severity: 'major',
        message: { vi: 'Gateway An Phú mất kết nối', en: 'Gateway An Phú offline' },
      }),
    );
    for (const d of devices.slice(8)) await publish(silent(d));
    await waitFor(
      async () =>
        (await alarmsVia('state=open&limit=500')).filter((a) => a.ruleId === 'device-silent' && a.parentId !== null).length === 20,
      { what: '20 device alarms under the gateway alarm', timeoutMs: 20_000 },
    );

    const page = await openAlarms();
    const desk = page.getByTestId('alarm-desk');
    await desk.waitFor();
    const rows = desk.locator('tr.desk-row');
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => rows.first().getByTestId('children-count').innerText()).toBe('20 thiết bị liên quan');
    expect(await rows.first().innerText()).toContain('Gateway An Phú mất kết nối');
    expect(await desk.locator('tr.desk-row', { hasText: 'mất dữ liệu' }).count()).toBe(0);
    // The menu counts what waits for a person: the gateway alarm, not its 20 echoes.
    await expect.poll(() => page.getByTestId('unacked-badge').innerText()).toBe('1');
    await rows.first().getByTestId('details').click();
    await expect.poll(() => page.getByTestId('related').locator('li').count()).toBe(20);
    await screenshot(page, 'alarm-desk-gateway-group');
    await page.close();
  });

  it('bulk acknowledges 50 alarms from the table', async () => {
    for (let i = 1; i <= 50; i++)
      await publish(
        event({
          ruleId: `storm-${i}`,
          sourceId: `an-phu-noise-x${(i % 15) + 1}`,
          severity: 'warning',
          message: { vi: `Kiểm tra hàng loạt ${i}`, en: `Bulk check ${i}` },
        }),
      );
    await waitFor(async () => (await alarmsVia('state=active&q=hàng loạt&limit=500')).length === 50, {
      what: '50 active alarms',
      timeoutMs: 20_000,
    });
    const page = await openAlarms();
    await page.getByTestId('filter-q').fill('hàng loạt');
    const rows = page.getByTestId('alarm-desk').locator('tr.desk-row');
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByTestId('select-all').check();
    await expect.poll(() => page.getByTestId('selected-count').innerText()).toBe('Đã chọn 50');
    await page.getByTestId('bulk-ack').click();
    await expect.poll(() => page.getByTestId('bulk-result').innerText()).toBe('Đã xử lý 50, không thực hiện được 0');
    await expect.poll(() => rows.locator('[data-testid="alarm-state"]', { hasText: 'Đã xác nhận' }).count()).toBe(50);
    expect(await alarmsVia('state=active&q=hàng loạt&limit=500')).toHaveLength(0);
    const acked = await alarmsVia('state=acknowledged&q=hàng loạt&limit=500');
    expect(acked).toHaveLength(50);
    const admin = await apiLogin(h.url, 'admin');
    const audit = await (await api(h.url, admin, 'GET', '/api/audit?action=alarm.ack&user=operator&limit=100')).json();
    expect(audit.total).toBe(50);
    await page.close();
  });

  it('a condition returning within the reopen window reopens the same alarm with its assignee and comments', async () => {
    const flood = (state: 'raised' | 'cleared' = 'raised') =>
      event({
        ruleId: 'flood-level',
        sourceId: WATER,
        device: WATER,
        gateway: GATEWAY,
        kind: 'water_level',
        state,
        severity: 'critical',
        category: 'water',
        message: { vi: 'Mực nước An Phú vượt báo động 3', en: 'An Phú water above alarm level 3' },
      });
    await publish(flood());
    const [alarm] = await waitFor(
      async () => {
        const list = (await alarmsVia('state=open&limit=500')).filter((a) => a.ruleId === 'flood-level');
        return list.length ? list : undefined;
      },
      { what: 'the flood alarm' },
    );
    const page = await openAlarms();
    const row = page.locator(`tr.desk-row[data-alarm="${alarm!.id}"]`);
    await row.getByTestId('details').click();
    const detail = page.locator(`[data-alarm-detail="${alarm!.id}"]`);
    await detail.getByTestId('assignee-select').selectOption('technician');
    await detail.getByTestId('assign').click();
    await expect.poll(() => row.getByTestId('assignee').innerText()).toBe('technician user');
    await detail.getByLabel('Nội dung ghi chú').fill('Đội 2 đang tới cống Tam Phú');
    await detail.getByRole('button', { name: 'Ghi chú', exact: true }).click();
    await expect.poll(() => detail.locator('.alarm-trail').innerText()).toContain('Đội 2 đang tới cống Tam Phú');
    // "Kết thúc" asks first: nobody clears an alarm by closing a panel.
    await detail.getByTestId('clear').click();
    const dialog = page.getByRole('dialog', { name: 'Kết thúc cảnh báo này?' });
    await dialog.waitFor();
    await dialog.getByTestId('confirm').click();
    await expect.poll(() => row.getByTestId('alarm-state').count()).toBe(0); // left the open list
    expect((await alarmsVia('state=cleared&limit=500')).find((a) => a.id === alarm!.id)).toBeTruthy();

    // The water rises again a minute later.
    await publish(flood());
    await expect.poll(() => row.getByTestId('alarm-state').innerText(), { timeout: 20_000 }).toBe('Đang mở');
    expect(await row.innerText()).toContain('mở lại 1 lần');
    expect(await row.getByTestId('assignee').innerText()).toBe('technician user');
    // The desk remembers which lines were open; open it if it is not.
    if ((await row.getByTestId('details').getAttribute('aria-expanded')) !== 'true') await row.getByTestId('details').click();
    await expect
      .poll(() => page.locator(`[data-alarm-detail="${alarm!.id}"] .alarm-trail`).innerText())
      .toContain('Đội 2 đang tới cống Tam Phú');
    const open = (await alarmsVia('state=open&limit=500')).filter((a) => a.ruleId === 'flood-level');
    expect(open).toEqual([expect.objectContaining({ id: alarm!.id, assignee: 'technician', reopenCount: 1 })]);
    await page.close();
  });

  it('a deep link to a cleared alarm opens it expanded', async () => {
    await publish(
      event({
        ruleId: 'lamp-failure',
        sourceId: 'an-phu-light-1',
        device: 'an-phu-light-1',
        gateway: GATEWAY,
        kind: 'street_light',
        message: { vi: 'Đèn An Phú hỏng bóng', en: 'An Phú lamp failed' },
      }),
    );
    const [lamp] = await waitFor(
      async () => {
        const list = (await alarmsVia('state=open&limit=500')).filter((a) => a.ruleId === 'lamp-failure');
        return list.length ? list : undefined;
      },
      { what: 'the lamp alarm' },
    );
    const operator = await apiLogin(h.url, 'operator');
    expect((await api(h.url, operator, 'POST', `/api/alarms/${lamp!.id}/clear`, { comment: 'đã thay bóng' })).status).toBe(200);
    const page = await openAlarms('operator', `/alarms/${lamp!.id}`);
    const linked = page.getByTestId('linked-alarm');
    await expect.poll(() => linked.innerText()).toContain('Đèn An Phú hỏng bóng');
    expect(await linked.innerText()).toContain('Đã kết thúc');
    await expect.poll(() => linked.locator('.alarm-trail').innerText()).toContain('đã thay bóng');
    expect(await page.getByText('Không có cảnh báo phù hợp').count()).toBe(0);
    await page.close();
  });

  it('admins page through the audit log and read the alarm-system health, in both languages, accessibly', async () => {
    const page = await openAlarms('admin', '/admin/audit', { bypassCSP: true });
    await expect.poll(() => page.getByTestId('audit-total').innerText()).toMatch(/^[\d.]+ mục$/);
    await page.getByTestId('audit-action').selectOption('alarm.');
    await expect.poll(() => page.getByTestId('audit-table').locator('tbody tr').first().innerText()).toContain('Kết thúc cảnh báo');
    const total = Number((await page.getByTestId('audit-total').innerText()).replace(/\D/g, ''));
    expect(total).toBeGreaterThanOrEqual(52); // 50 bulk acknowledgements, an assignment, a comment, two resolutions
    await expect.poll(() => page.getByTestId('audit-page').innerText()).toBe(`Trang 1 / ${Math.ceil(total / 50)}`);
    await page.getByTestId('audit-next').click();
    await expect.poll(() => page.getByTestId('audit-page').innerText()).toBe(`Trang 2 / ${Math.ceil(total / 50)}`);
    await expectAccessible(page, 'audit');

    await page.goto(`${h.url}/admin/alarm-health`);
    await expect.poll(() => page.getByTestId('health-total').innerText()).toMatch(/^\d+$/);
    // Annunciated on their own: the first silent device (before its gateway was known), the gateway alarm,
    // the 50 of the storm, the flood (raised and reopened) and the lamp. The next 7 silent devices joined
    // the first one's burst, the last 12 arrived under the gateway alarm.
    expect(Number(await page.getByTestId('health-total').innerText())).toBe(55);
    expect(await page.getByTestId('alarm-health').innerText()).toContain('12 do gateway, 7 gộp nhóm, 0 đang bảo trì');
    await expectAccessible(page, 'alarm-health');
    await screenshot(page, 'alarm-health');
    await page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Alarm system health');
    expect(await page.getByTestId('alarm-health').innerText()).toContain('12 by their gateway, 7 grouped, 0 in maintenance');
    await page.close();
  });

  // Last: its 150 alarms would count in the health figures above.
  it('a storm arriving while the desk is open: every alarm lands, the table draws a page of 100 and says how many more', async () => {
    const page = await openAlarms();
    await page.getByTestId('filter-q').fill('bão trang');
    // The filtered list has arrived (none yet), so the storm is what the live feed brings.
    await page.getByText('Không có cảnh báo phù hợp').waitFor();
    for (let i = 1; i <= 150; i++)
      await publish(
        event({
          ruleId: `page-${i}`,
          sourceId: `an-phu-noise-x${(i % 15) + 1}`,
          severity: 'warning',
          message: { vi: `Bão trang ${i}`, en: `Page storm ${i}` },
        }),
      );
    const rows = page.getByTestId('alarm-desk').locator('tr.desk-row');
    await expect.poll(() => page.getByTestId('desk-more').innerText(), { timeout: 20_000 }).toContain('Đang hiện 100 trong 150 dòng');
    expect(await rows.count()).toBe(100);
    await page.getByTestId('desk-show-more').click();
    await expect.poll(() => rows.count()).toBe(150);
    expect(await page.getByTestId('desk-more').count()).toBe(0);
    await page.close();
  });
});
