import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tamky/service-kit';
import { launchChromium, tempDir, waitFor } from '@tamky/test-support';
import { startCityDemo, type CityDemo, REPO_ROOT } from '@tamky/demo';

/**
 * Real Chromium against the real composition: a flood at a water-level station (its URM14 distance
 * register pinned so the level is above báo động 3) raises an alarm through gateway → broker → ingest →
 * detector → dashboard; an operator acknowledges it in the Alarms view and the server records who did it.
 */
const WATER = 'an-phu-water-1'; // mountingHeightM 6, alarm levels 2 / 3 / 4 m (config/tam-ky/city.yaml)
const DISTANCE_REGISTER = 0x05; // 0.1 mm units (docs/register-maps.md)
const FLOOD_DISTANCE_RAW = 15_000; // 1.5 m below the sensor → level 4.5 m, above báo động 3 (4 m)
const artifacts = join(REPO_ROOT, 'test-artifacts/screenshots');

interface Alarm {
  id: string;
  ruleId: string;
  device: string | null;
  state: 'active' | 'acknowledged' | 'cleared';
  severity: string;
  acknowledgedBy?: string | null;
}
interface AuditEntry {
  ts: number;
  user: string;
  action: string;
  detail: unknown;
}
type Role = 'admin' | 'operator' | 'technician' | 'viewer';

let demo: CityDemo;
let browser: Browser;
let alarmId: string;

async function apiSession(role: Role): Promise<string> {
  const res = await fetch(`${demo.urls.dashboard}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: role, password: demo.credentials.users[role] }),
  });
  if (res.status !== 200) throw new Error(`login as ${role}: ${res.status} ${await res.text()}`);
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

async function getJson<T>(cookie: string, path: string): Promise<T> {
  const res = await fetch(`${demo.urls.dashboard}${path}`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function loginInBrowser(page: Page, role: Role, path: string): Promise<void> {
  await page.goto(`${demo.urls.dashboard}${path}`);
  await page.getByLabel('Tên đăng nhập').fill(role);
  await page.getByLabel('Mật khẩu').fill(demo.credentials.users[role]);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('user').waitFor({ state: 'attached', timeout: 30_000 });
}

beforeAll(async () => {
  browser = await launchChromium();
  if (!existsSync(join(REPO_ROOT, 'dashboard/web/dist/index.html')))
    throw new Error('dashboard/web/dist is not built: run `npm run build -w dashboard/web`');
  demo = await startCityDemo({
    dataDir: tempDir('e2e-browser-alarms'),
    mqttPort: 0,
    httpPort: 0,
    pollIntervalMs: 1000,
    logger: createLogger('e2e', { level: 'warn' }),
  });
  mkdirSync(artifacts, { recursive: true });

  // The flood happens at the device: only its register changes, everything after it is the real pipeline.
  demo.sim.devices.get(WATER)!.pin('holding', DISTANCE_REGISTER, FLOOD_DISTANCE_RAW);
  const cookie = await apiSession('viewer');
  const alarm = await waitFor(
    async () => {
      const { alarms } = await getJson<{ alarms: Alarm[] }>(cookie, '/api/alarms?state=active&limit=200');
      return alarms.find((a) => a.ruleId === 'flood-level' && a.device === WATER);
    },
    { timeoutMs: 45_000, intervalMs: 500, what: `an active flood-level alarm for ${WATER} in GET /api/alarms` },
  );
  alarmId = alarm.id;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

describe('alarms in a browser against the real system', () => {
  it('a viewer gets no acknowledge controls: no Alarms view, the alarm only on the read-only wall, and the server refuses', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await loginInBrowser(page, 'viewer', '/alarms');
    // The Alarms view is for operators and above: a viewer typing its URL gets a refusal, not the page.
    await page.getByRole('alert').filter({ hasText: 'Bạn không có quyền xem trang này' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-alarm]').count()).toBe(0);
    expect(await page.getByTestId('ack').count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Cảnh báo', exact: true }).count()).toBe(0);

    // The viewer still sees the flood on the wall's alarm panel, with nothing to press.
    await page.goto(`${demo.urls.dashboard}/wall?panels=alarms`);
    const list = page.locator('.wall-alarms');
    await expect.poll(() => list.innerText(), { timeout: 30_000 }).toContain('An Phú');
    expect(await page.locator('.wall-body button').count()).toBe(0);
    expect(await page.getByTestId('ack').count()).toBe(0);
    await page.screenshot({ path: join(artifacts, 'e2e-alarm-viewer.png') });
    await page.close();

    // And the API agrees: a viewer's acknowledge is refused and changes nothing.
    const login = await fetch(`${demo.urls.dashboard}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'viewer', password: demo.credentials.users.viewer }),
    });
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const refused = await fetch(`${demo.urls.dashboard}/api/alarms/${encodeURIComponent(alarmId)}/ack`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(403);
    const { alarm } = await getJson<{ alarm: Alarm }>(cookie, `/api/alarms/${encodeURIComponent(alarmId)}`);
    expect(alarm.state).toBe('active');
  });

  it('the flood reached the local Zalo server of the demo; an admin reads it on the sent-messages page, linked to its alarm', async () => {
    const sent = await waitFor(() => demo.providers.zalo.messages.find((m) => m.templateData.alarm_id === alarmId), {
      timeoutMs: 30_000,
      what: `a Zalo message about alarm ${alarmId} at the local Zalo server`,
    });
    expect(sent.templateData.message).toContain('An Phú');
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await loginInBrowser(page, 'admin', '/admin/messages');
    const row = page
      .getByTestId('messages-table')
      .locator('tbody tr')
      .filter({ has: page.locator(`a[href="/alarms/${alarmId}"]`) });
    await row.first().waitFor({ timeout: 30_000 });
    const text = await row.first().innerText();
    expect(text).toContain('Zalo');
    expect(text).toMatch(/Nhà mạng đã nhận|Đã đến máy/);
    expect(text).toContain(`/alarms/${alarmId}`); // the text as sent carries the link
    await page.screenshot({ path: join(artifacts, 'e2e-sent-messages.png'), fullPage: true });
    await row
      .first()
      .getByRole('link', { name: `#${alarmId}` })
      .click();
    // The link opens the alarm itself (a deep link), with the same message in its notification trail.
    const linked = page.getByTestId('linked-alarm');
    await expect.poll(() => linked.getByTestId('notifications').innerText(), { timeout: 30_000 }).toContain('Zalo');
    expect(await linked.getByTestId('notifications').innerText()).toContain(`/alarms/${alarmId}`);
    await page.close();
  });

  it('an admin injects a lamp failure from the admin page: the simulated lamp fails and the act is audited', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await loginInBrowser(page, 'admin', '/admin');
    const control = page.getByTestId('demo-control');
    await control.getByRole('button', { name: 'Hỏng đèn' }).click();
    await expect.poll(() => control.getByTestId('demo-injected').innerText(), { timeout: 30_000 }).toContain('Hỏng đèn');
    const lamp = demo.city.devices.find((d) => d.kind === 'street_light')!;
    expect(
      demo.sim.devices
        .get(lamp.id)!
        .faults()
        .map((f) => f.type),
    ).toContain('lamp_failure');
    const { entries } = await getJson<{ entries: Array<AuditEntry & { detail: Record<string, unknown> }> }>(
      await apiSession('admin'),
      '/api/audit?limit=500',
    );
    expect(entries.find((e) => e.action === 'demo.scenario')).toMatchObject({ user: 'admin', detail: { scenario: 'lamp-failure' } });
    await page.close();
  });

  it('an operator acknowledges the flood alarm in the Alarms view; the server records it with an audit entry', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    // Confirm any dialog the UI asks (none today for acknowledge, but an added confirmation must not hang the test).
    page.on('dialog', (d) => void d.accept());
    await loginInBrowser(page, 'operator', '/alarms');
    // The desk: one table row per alarm (or burst), its detail in the row underneath when opened.
    const item = page.locator(`tr.desk-row[data-alarm="${alarmId}"]`);
    const detailPanel = page.locator(`[data-alarm-detail="${alarmId}"]`);
    await expect.poll(() => item.getAttribute('data-state'), { timeout: 30_000 }).toBe('active');
    await item.getByRole('button', { name: 'Chi tiết' }).click();
    await detailPanel.getByLabel('Nội dung ghi chú').fill('Đã báo đội ứng phó lũ An Phú');
    await detailPanel.getByTestId('ack').click();
    // An in-page confirm dialog, if the UI shows one.
    const confirm = page.getByRole('dialog').getByRole('button', { name: /Xác nhận|Đồng ý|OK/ });
    if (await confirm.count()) await confirm.first().click();

    await expect.poll(() => item.getAttribute('data-state'), { timeout: 30_000 }).toBe('acknowledged');
    await expect.poll(() => detailPanel.innerText(), { timeout: 15_000 }).toContain('Xác nhận bởi operator');

    const cookie = await apiSession('admin');
    const detail = await waitFor(
      async () => {
        const d = await getJson<{ alarm: Alarm; audit: AuditEntry[] }>(cookie, `/api/alarms/${encodeURIComponent(alarmId)}`);
        return d.alarm.state === 'acknowledged' ? d : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: `alarm ${alarmId} acknowledged on the server` },
    );
    expect(detail.alarm.acknowledgedBy).toBe('operator');
    const ack = detail.audit.find((e) => e.action === 'ack' || e.action === 'acknowledge' || e.action === 'acknowledged');
    expect(ack, `audit entries: ${JSON.stringify(detail.audit)}`).toBeDefined();
    expect(ack!.user).toBe('operator');
    expect(JSON.stringify(ack!.detail ?? '')).toContain('Đã báo đội ứng phó lũ An Phú');
    // The centre's audit log (admin) has the same act: who, what, which alarm.
    const { entries } = await getJson<{ entries: Array<AuditEntry & { detail: Record<string, unknown> }> }>(cookie, '/api/audit?limit=500');
    const logged = entries.filter((e) => e.action === 'alarm.ack' && String(e.detail.alarm) === alarmId);
    expect(logged, `audit log: ${JSON.stringify(entries.slice(0, 20))}`).toHaveLength(1);
    expect(logged[0]!.user).toBe('operator');
    await expect.poll(() => detailPanel.locator('.alarm-trail').innerText(), { timeout: 15_000 }).toContain('Đã báo đội ứng phó lũ An Phú');
    await page.screenshot({ path: join(artifacts, 'e2e-alarm-ack.png'), fullPage: true });
    await page.close();
  });
});
