import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseAnnouncementSchema, topics, type GatewayHealth } from '@tamky/protocol';
import { generateFleetKeys } from '@tamky/service-kit';
import { tempDir } from '@tamky/test-support';
import { DIST_DIR, ensureBuilt, expectAccessible, launchBrowser, screenshot } from './browser';
import { api, login as apiLogin, mqttClient, PASSWORDS, startHarness, type Harness, type RoleName } from '../../server/test/helpers';

type Rollback = NonNullable<GatewayHealth['fleet']>['rollback'];

/**
 * The fleet in the real app against the real dashboard server: a technician's gateway card shows the software
 * and pushed-config versions a gateway reports and its last rollback with the reason; an admin starts a staged
 * rollout in the panel, sees the first ward's stage, and sees it halt, without a reload, when a gateway there
 * rolls the release back. Gateways are MQTT clients reporting health on the real broker (the install and the
 * rollback on a gateway itself are proven by test/fleet-update.test.ts).
 */
describe('gateway fleet in the browser', () => {
  let h: Harness;
  let browser: Browser;
  let mqtt: MqttClient;
  const VERSION = '2.1.0';
  const announced = new Set<string>();
  const withdrawn = new Set<string>();
  let firstWard: string;
  let first: string[];

  const health = (gateway: string, version: string, configVersion: number | null, rollback: Rollback = null) =>
    mqtt.publishAsync(
      topics.health(gateway),
      JSON.stringify({
        gateway,
        ts: Date.now(),
        uptimeS: 60,
        version,
        configHash: 'a'.repeat(64),
        cpuPct: 1,
        rssBytes: 1,
        diskFreeBytes: null,
        diskTotalBytes: null,
        outbox: { depth: 0, oldestTs: null, bytes: 0, dropped: 0, notDurable: 0 },
        devices: [],
        fleet: { configVersion, configHash: null, rollback },
      } satisfies GatewayHealth),
      { qos: 1 },
    );

  const pageAs = async (role: RoleName, lang: 'vi' | 'en' = 'vi'): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
    page.setDefaultTimeout(15_000);
    await page.addInitScript((l) => localStorage.setItem('lang', l), lang);
    await page.goto(`${h.url}/gateways`);
    await page.locator('input[autocomplete="username"]').fill(role);
    await page.locator('input[type="password"]').fill(PASSWORDS[role]);
    await page.locator('button[type="submit"]').click();
    await page.getByTestId('user').waitFor({ state: 'attached', timeout: 30_000 });
    return page;
  };
  const card = (page: Page, gateway: string) => page.locator(`article.gateway[data-gateway="${gateway}"]`);

  beforeAll(async () => {
    ensureBuilt();
    const dir = tempDir('fleet-panel');
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(dir, 'fleet.key'), generateFleetKeys().privateKeyPem);
    writeFileSync(join(releases, `tamky-gateway-${VERSION}-linux-x64.tgz`), Buffer.from('release bytes'));
    writeFileSync(
      join(releases, `tamky-gateway-${VERSION}-linux-x64.json`),
      JSON.stringify({ version: VERSION, tarball: `tamky-gateway-${VERSION}-linux-x64.tgz` }),
    );
    h = await startHarness({
      config: {
        webDist: DIST_DIR,
        fleet: {
          signingKeyFile: join(dir, 'fleet.key'),
          releasesDir: releases,
          releaseBaseUrl: 'https://centre.example.vn',
          deadlineMs: 60_000,
        },
      },
    });
    browser = await launchBrowser();
    mqtt = await mqttClient(h.mqttUrl);
    mqtt.on('message', (topic, payload) => {
      // An empty retained message: the dashboard withdrew the announcement (a cancelled rollout).
      if (payload.length === 0) return void withdrawn.add(topic.split('/')[3]!);
      announced.add(releaseAnnouncementSchema.parse(JSON.parse(payload.toString())).gateway);
    });
    await mqtt.subscribeAsync('city/v1/gw/+/release', { qos: 1 });
    const byWard = new Map<string, string[]>();
    for (const g of h.city.gateways) byWard.set(g.ward, [...(byWard.get(g.ward) ?? []), g.id]);
    [firstWard, first] = [...byWard.entries()][0]!;
    expect(h.city.gateways.length).toBeGreaterThan(first.length);
  }, 120_000);
  afterAll(async () => {
    await mqtt?.endAsync();
    await browser?.close();
    await h?.close();
  });

  it("a technician's card shows the software version, the config version and the last rollback with its reason", async () => {
    const [gw, other] = [h.city.gateways[0]!.id, h.city.gateways[1]!.id];
    await health(gw, '1.4.2', 12, {
      kind: 'config',
      rejected: '13',
      running: '12',
      reason: 'gateway could not start with it: device pm-07 has no profile "sds011x"',
      ts: Date.now() - 3 * 60_000,
    });
    await health(other, '1.4.2', null);
    const page = await pageAs('technician');
    const c = card(page, gw);
    await expect.poll(() => c.getByTestId('software-version').innerText()).toBe('1.4.2');
    expect(await c.getByTestId('config-version').innerText()).toBe('v12');
    expect(await c.getByTestId('rollback').innerText()).toMatch(/Đã hoàn tác\s+cấu hình v13 bị từ chối, đang chạy v12 \(3 phút trước\)/);
    expect(await c.getByTestId('rollback-reason').innerText()).toBe(
      'gateway could not start with it: device pm-07 has no profile "sds011x"',
    );
    // A gateway never pushed to runs the file it was installed with; no rollback shown.
    expect(await card(page, other).getByTestId('config-version').innerText()).toBe('chưa có (tệp trên gateway)');
    expect(await card(page, other).getByTestId('rollback').count()).toBe(0);
    await expectAccessible(page, 'gateway-card-rollback');

    // A software rollback arrives live, with the gateway's reason.
    await health(gw, '1.4.2', 12, {
      kind: 'software',
      rejected: '1.5.0',
      running: '1.4.2',
      reason: 'not healthy within 60000 ms',
      ts: Date.now(),
    });
    await expect.poll(() => c.getByTestId('rollback').innerText()).toMatch(/phần mềm 1\.5\.0 bị từ chối, đang chạy 1\.4\.2/);
    expect(await c.getByTestId('rollback-reason').innerText()).toBe('not healthy within 60000 ms');
    await screenshot(page, 'gateway-card-rollback');
    await page.close();

    const en = await pageAs('technician', 'en');
    await expect
      .poll(() => card(en, gw).getByTestId('rollback').innerText())
      .toMatch(/Rolled back\s+software 1\.5\.0 refused, running 1\.4\.2/);
    expect(await card(en, other).getByTestId('config-version').innerText()).toBe('none yet (file on the gateway)');
    await en.close();
  }, 120_000);

  it('an admin starts a rollout, sees the first ward trying it, sees it halt when a gateway there rolls it back, resumes and cancels it', async () => {
    const page = await pageAs('admin');
    const panel = page.locator('section.fleet-rollouts');
    await expect.poll(() => panel.getByText('Chưa có đợt cập nhật nào').count()).toBe(1);
    await panel.getByLabel('Bản phát hành').selectOption(VERSION);
    await panel.getByLabel('Phường/xã đi trước').selectOption(firstWard);
    const wardName = h.city.wards.find((w) => w.id === firstWard)!.name;
    await panel.getByRole('button', { name: 'Bắt đầu cập nhật' }).click();
    await expect.poll(() => panel.getByRole('status').innerText()).toBe(`Đã bắt đầu cập nhật ${VERSION} tại ${wardName}`);
    const rollout = panel.getByTestId('rollout').first();
    await expect.poll(() => rollout.getByTestId('rollout-stage').innerText()).toBe('đang thử ở phường đầu tiên');
    const text = await rollout.innerText();
    expect(text).toContain(wardName);
    expect(text).toContain(`0/${first.length} gateway đã chạy bản mới`);
    // Only the first ward was told.
    await expect.poll(() => first.every((g) => announced.has(g))).toBe(true);
    expect(h.city.gateways.filter((g) => g.ward !== firstWard && announced.has(g.id))).toEqual([]);
    await expectAccessible(page, 'fleet-rollout-first-ward');
    await screenshot(page, 'fleet-rollout-first-ward');

    // One gateway of the first ward cannot run it: the panel says so without a reload.
    await health(first[0]!, '1.4.2', 12, {
      kind: 'software',
      rejected: VERSION,
      running: '1.4.2',
      reason: 'exited with code 1 at start',
      ts: Date.now(),
    });
    await expect.poll(() => rollout.getByTestId('rollout-stage').innerText()).toBe('đã dừng');
    expect(await rollout.getAttribute('data-stage')).toBe('halted');
    expect(await rollout.getByTestId('rollout-reason').innerText()).toMatch(new RegExp(`${first[0]}.*exited with code 1 at start`));
    expect(await card(page, first[0]!).getByTestId('rollback').innerText()).toContain(`phần mềm ${VERSION} bị từ chối`);
    await screenshot(page, 'fleet-rollout-halted');

    // The cause fixed, the admin resumes it with a note: the ward's one gateway, which rolled it back, no longer
    // holds it up, so it goes on to the rest of the city.
    await rollout.getByRole('button', { name: 'Tiếp tục' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Ghi chú (lưu vào nhật ký)').fill('đã thay thẻ nhớ của gateway');
    await dialog.getByTestId('confirm').click();
    await expect.poll(() => panel.getByTestId('fleet-message').innerText()).toBe(`Đã tiếp tục đợt cập nhật ${VERSION}`);
    await expect
      .poll(() => rollout.getByTestId('rollout-stage').innerText())
      .toBe(first.length > 1 ? 'đang thử ở phường đầu tiên' : 'đang cập nhật toàn thành phố');
    // Then cancels it: no action left on it.
    await rollout.getByRole('button', { name: 'Huỷ đợt cập nhật' }).click();
    await page.getByRole('dialog').getByTestId('confirm').click();
    await expect.poll(() => rollout.getByTestId('rollout-stage').innerText()).toBe('đã huỷ');
    expect(await rollout.getByRole('button').count()).toBe(0);
    // Gateways not on the version lose the announcement: none installs a cancelled release later.
    await expect.poll(() => first.every((g) => withdrawn.has(g))).toBe(true);
    const admin = await apiLogin(h.url, 'admin');
    const audit = (await (await api(h.url, admin, 'GET', '/api/audit?action=fleet.rollout.')).json()) as {
      entries: Array<{ user: string; action: string; detail: Record<string, unknown> }>;
    };
    expect(audit.entries.find((e) => e.action === 'fleet.rollout.resume')).toMatchObject({
      user: 'admin',
      detail: { note: 'đã thay thẻ nhớ của gateway' },
    });
    expect(audit.entries.find((e) => e.action === 'fleet.rollout.cancel')?.user).toBe('admin');
    await expectAccessible(page, 'fleet-rollout-cancelled');
    await page.close();
  }, 120_000);
});
