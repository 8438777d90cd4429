import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { topics, type AlarmEvent } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { startIngest, type IngestHandle } from '@tamky/ingest';
import { createAlarmsModule } from '../../server/src/alarms';
import { api, KIOSK_TOKEN, loadCity, login, mqttClient, startHarness, type Harness, type Session } from '../../server/test/helpers';
import { DIST_DIR, ensureBuilt, launchBrowser, REPO_DIR, screenshot } from './browser';

/**
 * The wall against the real dashboard server: real mosquitto, the real SQLite store, real ingest, the alarms
 * module, the built app in Debian's Chromium. Alarm events arrive on MQTT as the detector publishes them.
 */

// One traffic counter polled every second that publishes once per closed 4-s interval: the traffic counter
// of the city (polled every 10 s, publishing every 60 s) scaled down so a test can wait out its intervals.
const TRAFFIC = 'an-phu-traffic-1';
const TRAFFIC_PUBLISH_MS = 4000;
const city = loadCity();
city.devices = city.devices.map((d) => (d.id === TRAFFIC ? { ...d, pollIntervalMs: 1000, publishIntervalMs: TRAFFIC_PUBLISH_MS } : d));

// The rotating wall pins to the alarm list; one wall fixed on each other panel (the map one at 4K).
const POLL = { timeout: 30_000 };

const FIXED_PANELS = ['air', 'traffic', 'lighting'] as const;

function floodEvent(over: Partial<AlarmEvent> = {}): AlarmEvent {
  const now = Date.now();
  return {
    ruleId: 'flood-level',
    sourceId: 'an-phu-water-1',
    state: 'raised',
    severity: 'critical',
    category: 'water',
    ward: 'an-phu',
    kind: 'water_level',
    device: 'an-phu-water-1',
    gateway: 'gw-an-phu',
    field: 'level',
    value: 4.2,
    limit: 4,
    unit: 'm',
    since: now - 60_000,
    ts: now,
    message: { vi: 'Đo mực nước An Phú: mực nước 4,2 m — BÁO ĐỘNG 3', en: 'An Phú water level: 4.2 m — ALARM LEVEL 3' },
    ...over,
  };
}

describe('wall on the real server', () => {
  let h: Harness;
  let ingest: IngestHandle;
  let browser: Browser;
  let gw: MqttClient;
  let seq = 0;
  let operator: Session | undefined;

  const raise = (e: AlarmEvent) => gw.publishAsync(topics.alarmEvent(e.ruleId, e.sourceId), JSON.stringify(e), { qos: 1 });
  const wallPage = async (query: string, viewport = { width: 1920, height: 1080 }): Promise<Page> => {
    const page = await browser.newPage({ viewport });
    // Inside the test's own timeout, so a step that is stuck fails naming its locator.
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.url}/wall?kiosk=${KIOSK_TOKEN}&${query}`, { waitUntil: 'domcontentloaded' });
    await page.locator('.wall').waitFor();
    return page;
  };
  const soundPlaying = (page: Page) =>
    page.evaluate(() => {
      const a = document.querySelector<HTMLAudioElement>('[data-testid="alarm-sound"]');
      return !!a && !a.paused && a.currentTime > 0;
    });
  const alarmIds = async (state: 'active' | 'open' = 'active'): Promise<string[]> => {
    const res = await api(h.url, (operator ??= await login(h.url, 'operator')), 'GET', `/api/alarms?state=${state}`);
    return ((await res.json()) as { alarms: Array<{ id: string }> }).alarms.map((a) => a.id);
  };

  beforeAll(async () => {
    ensureBuilt();
    h = await startHarness({ city, modules: [createAlarmsModule({ tickMs: 200 })], config: { webDist: DIST_DIR } });
    const logger = createLogger('wall-test', { level: process.env.TEST_LOG ?? 'silent' });
    ingest = await startIngest(
      {
        mqtt: { url: h.mqttUrl, clientId: 'ingest-wall-test' },
        limitsDir: join(REPO_DIR, 'config/limits'),
        batch: { maxReadings: 100, maxDelayMs: 20 },
      },
      { store: h.store, city, logger },
    );
    gw = await mqttClient(h.mqttUrl);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.endAsync();
    await ingest?.close();
    await h?.close();
  });

  it('a level-3 flood takes over every panel, pins the rotation, sounds until acknowledged', async () => {
    const rotating = await wallPage('rotate=3');
    const fixed: Page[] = [];
    for (const p of FIXED_PANELS) fixed.push(await wallPage(`panels=${p}&sound=off`));
    const big = await wallPage('panels=map&sound=off', { width: 3840, height: 2160 });
    const pages = [rotating, ...fixed, big];
    for (const page of pages) {
      await expect.poll(() => page.getByTestId('unacked-count').getAttribute('data-count'), POLL).toBe('0');
      expect(await page.getByTestId('alarm-banner').count()).toBe(0);
    }
    // The one-time setup step: the browser refuses sound before a gesture, so the wall asks for one.
    const enable = rotating.getByTestId('enable-sound');
    if (await enable.isVisible()) await enable.click();
    await expect.poll(() => enable.count(), POLL).toBe(0);
    expect(await soundPlaying(rotating)).toBe(false);

    const raisedAt = Date.now();
    await raise(floodEvent());
    // Pushed, not polled: every wall shows it without reloading (how fast, under load, is bench/wall-alarm's job).
    const delays = await Promise.all(
      pages.map(async (page) => {
        await page.getByTestId('alarm-banner').waitFor();
        return Date.now() - raisedAt;
      }),
    );
    console.info(`wall banner after the alarm event, per wall: ${delays.join(', ')} ms`);

    for (const page of pages) {
      const text = await page.getByTestId('alarm-banner').innerText();
      expect(text).toContain('An Phú');
      expect(text).toContain('BÁO ĐỘNG 3');
      expect(text).toMatch(/từ \d\d:\d\d \(\d+ (giây|phút)\)/);
      await expect.poll(() => page.getByTestId('unacked-count').getAttribute('data-count'), POLL).toBe('1');
    }
    // Pinned: the rotating wall shows the alarm list and stays there past its rotation period.
    await expect.poll(() => rotating.locator('.wall').getAttribute('data-panel'), POLL).toBe('alarms');
    await rotating.waitForTimeout(4000);
    expect(await rotating.locator('.wall').getAttribute('data-panel')).toBe('alarms');
    await expect.poll(() => soundPlaying(rotating), POLL).toBe(true);
    // A wall set to silence stays silent.
    expect(await fixed[0]!.getByTestId('alarm-sound').count()).toBe(0);

    await screenshot(rotating, 'wall-takeover-1080p');
    await screenshot(fixed[0]!, 'wall-takeover-1080p-air');
    await screenshot(big, 'wall-takeover-4k');

    // Someone acknowledges at the desk: the banner goes everywhere, the sound stops, the rotation resumes.
    const [id] = await alarmIds();
    expect((await api(h.url, operator!, 'POST', `/api/alarms/${id}/ack`, {})).status).toBe(200);
    for (const page of pages) {
      await expect.poll(() => page.getByTestId('alarm-banner').count(), POLL).toBe(0);
      expect(await page.getByTestId('unacked-count').getAttribute('data-count')).toBe('0');
    }
    await expect.poll(() => soundPlaying(rotating), POLL).toBe(false);
    await expect.poll(() => rotating.locator('.wall').getAttribute('data-panel'), POLL).not.toBe('alarms');
    await Promise.all(pages.map((p) => p.close()));
    // Five walls open at once, one of them the 4K WebGL map, which Chromium draws in software (no GPU here).
  }, 120_000);

  it('the alarm list sorts by severity then age and counts what does not fit', async () => {
    // The flood of the test above (raised again if that one stopped early), acknowledged.
    await raise(floodEvent());
    await expect.poll(() => alarmIds('open'), POLL).toHaveLength(1);
    for (const id of await alarmIds()) await api(h.url, operator!, 'POST', `/api/alarms/${id}/ack`, {});
    const now = Date.now();
    // Twelve more: minor ones of different ages and one major that is younger than all of them.
    for (let i = 0; i < 11; i++)
      await raise(
        floodEvent({
          ruleId: 'noise-level',
          sourceId: `noise-${i}`,
          severity: 'minor',
          category: 'noise',
          since: now - (i + 1) * 60_000,
          ts: now,
          message: { vi: `tiếng ồn ${i}`, en: `noise ${i}` },
        }),
      );
    await raise(
      floodEvent({
        ruleId: 'device-silent',
        sourceId: 'gw-x',
        severity: 'major',
        category: 'device',
        since: now - 1000,
        ts: now,
        message: { vi: 'mất kết nối', en: 'lost contact' },
      }),
    );
    const page = await wallPage('panels=alarms&sound=off');
    // 13 open (the acknowledged flood plus 12): 8 rows and "+5".
    await expect.poll(() => page.getByTestId('alarms-more').innerText(), POLL).toBe('+5 cảnh báo khác');
    const rows = await page.locator('.wall-alarms li[data-alarm]').allInnerTexts();
    expect(rows).toHaveLength(8);
    expect(rows[0]).toContain('BÁO ĐỘNG 3'); // critical, even though acknowledged
    expect(rows[1]).toContain('mất kết nối'); // major before every minor
    // Minor ones oldest first: noise-10 (11 min) … noise-5 (6 min).
    expect(rows.slice(2).map((r) => /tiếng ồn (\d+)/.exec(r)?.[1])).toEqual(['10', '9', '8', '7', '6', '5']);
    // The major one is unacknowledged: it takes the wall over too.
    await expect.poll(() => page.getByTestId('alarm-banner').innerText(), POLL).toContain('mất kết nối');
    await page.close();
  });

  it('a device that reports at its own interval is never stale; it is after 2.5 of its intervals of silence', async () => {
    // The schematic (?map=schematic) marks each device's state on an element of its own.
    const page = await wallPage('panels=map&sound=off&map=schematic');
    const marker = page.locator(`[data-device="${TRAFFIC}"]`);
    // The device's own reports: the reading's time is when it was taken; `sent` is its PUBACK.
    let lastTs = 0;
    let sent: Promise<unknown> = Promise.resolve();
    const publish = () => {
      const values: Record<string, { v: number; u: string }> = { interval: { v: TRAFFIC_PUBLISH_MS / 1000, u: 's' } };
      for (let lane = 1; lane <= 4; lane++)
        Object.assign(values, { [`lane${lane}_car`]: { v: 5, u: 'count' }, [`lane${lane}_motorbike`]: { v: 30, u: 'count' } });
      const reading = { device: TRAFFIC, ts: Date.now(), seq: seq++, values };
      lastTs = reading.ts;
      sent = gw.publishAsync(topics.telemetry('gw-an-phu'), JSON.stringify({ v: 1, gateway: 'gw-an-phu', readings: [reading] }), {
        qos: 1,
      });
      return sent;
    };
    // The device reports on its own timer from its first report on, as its gateway would: a slow look at the
    // page never delays a report.
    const failures: unknown[] = [];
    await publish();
    const reporting = setInterval(() => void publish().catch((err: unknown) => failures.push(err)), TRAFFIC_PUBLISH_MS);
    const states = new Set<string>();
    try {
      await expect.poll(() => marker.getAttribute('data-state'), POLL).toBe('ok');
      // Three intervals of normal reporting, the marker watched twice a second.
      const watchUntil = Date.now() + 3 * TRAFFIC_PUBLISH_MS;
      while (Date.now() < watchUntil) {
        await page.waitForTimeout(500);
        states.add((await marker.getAttribute('data-state')) ?? '');
      }
    } finally {
      clearInterval(reporting);
    }
    await sent;
    expect(failures).toEqual([]);
    expect([...states]).toEqual(['ok']);
    // Silence: still fresh at 2 intervals, stale by 2.5 (plus the page's 1-s refresh).
    const silentFrom = lastTs;
    await page.waitForTimeout(Math.max(0, silentFrom + 2 * TRAFFIC_PUBLISH_MS - Date.now()));
    expect(await marker.getAttribute('data-state')).toBe('ok');
    await expect.poll(() => marker.getAttribute('data-state'), { ...POLL, interval: 250 }).toBe('stale');
    expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(2.5 * TRAFFIC_PUBLISH_MS);
    await page.close();
  });

  it('correlated children sit under their gateway alarm; a shelved critical alarm stays quiet until its shelf ends', async () => {
    for (const id of await alarmIds()) await api(h.url, operator!, 'POST', `/api/alarms/${id}/ack`, {});
    const admin = await login(h.url, 'admin');
    // The rules ingest runs: correlation learns from them which rules watch device and gateway silence.
    const rules = [
      { id: 'device-silent', type: 'no_data', category: 'equipment', severity: 'minor', target: 'device', factor: 10, minSilenceS: 120 },
      { id: 'gateway-silent', type: 'no_data', category: 'equipment', severity: 'major', target: 'gateway', factor: 6, minSilenceS: 60 },
    ];
    expect((await api(h.url, admin, 'PUT', '/api/rules', { rules })).status).toBe(200);
    const now = Date.now();
    const silent = { state: 'raised' as const, category: 'equipment', ward: 'tam-phu', gateway: 'gw-tam-phu', value: 600, limit: 60 };
    await raise(
      floodEvent({
        ...silent,
        ruleId: 'gateway-silent',
        sourceId: 'gw-tam-phu',
        severity: 'major',
        kind: undefined,
        device: undefined,
        field: undefined,
        since: now - 120_000,
        message: { vi: 'Gateway Tam Phú mất kết nối', en: 'Gateway Tam Phú lost contact' },
      }),
    );
    for (let i = 0; i < 20; i++)
      await raise(
        floodEvent({
          ...silent,
          ruleId: 'device-silent',
          sourceId: `tp-dev-${i}`,
          severity: 'minor',
          device: `tp-dev-${i}`,
          field: undefined,
          message: { vi: `thiết bị con ${i} mất dữ liệu`, en: `child device ${i} silent` },
        }),
      );
    const page = await wallPage('panels=alarms&sound=off');
    const row = page.locator('.wall-alarms li[data-alarm]').filter({ hasText: 'Gateway Tam Phú mất kết nối' });
    await expect.poll(() => row.getByTestId('wall-children').innerText(), POLL).toContain('20');
    expect(await page.locator('.wall-alarms').innerText()).not.toContain('thiết bị con');
    await expect.poll(() => page.getByTestId('alarm-banner').innerText(), POLL).toContain('Gateway Tam Phú');
    for (const id of await alarmIds()) await api(h.url, operator!, 'POST', `/api/alarms/${id}/ack`, {});
    await expect.poll(() => page.locator('.wall').getAttribute('data-pinned'), POLL).toBe('false');

    // Maintenance in An Mỹ: its flood is recorded and listed, but does not take the wall over…
    const shelved = await api(h.url, operator!, 'POST', '/api/alarms/shelves', {
      targetType: 'ward',
      targetId: 'an-my',
      reason: 'thay cảm biến',
      minutes: 60,
    });
    expect(shelved.status).toBe(201);
    const { shelf } = (await shelved.json()) as { shelf: { id: string } };
    await raise(
      floodEvent({
        sourceId: 'an-my-water-x',
        device: 'an-my-water-x',
        ward: 'an-my',
        gateway: 'gw-an-my',
        message: { vi: 'Ngập An Mỹ', en: 'An Mỹ flood' },
      }),
    );
    const flood = page.locator('.wall-alarms li[data-alarm]').filter({ hasText: 'Ngập An Mỹ' });
    await flood.waitFor();
    await page.waitForTimeout(1500);
    expect(await page.locator('.wall').getAttribute('data-pinned')).toBe('false');
    // …until the shelf ends while the flood is still active: then it is announced like a new one.
    expect((await api(h.url, operator!, 'DELETE', `/api/alarms/shelves/${shelf.id}`)).status).toBe(200);
    await expect.poll(() => page.getByTestId('alarm-banner').innerText(), POLL).toContain('Ngập An Mỹ');
    expect(await page.locator('.wall').getAttribute('data-pinned')).toBe('true');
    await page.close();
  });

  it('in a storm of more than 500 open alarms the unacknowledged count is every one of them', async () => {
    const now = Date.now();
    // All in flight at once, as a storm arrives (each still acknowledged by the broker before the count is read).
    await Promise.all(
      Array.from({ length: 600 }, (_, i) =>
        raise(
          floodEvent({
            ruleId: 'noise-level',
            sourceId: `storm-${i}`,
            severity: 'minor',
            category: 'noise',
            since: now - 60_000,
            ts: now,
            message: { vi: `ồn ${i}`, en: `noise ${i}` },
          }),
        ),
      ),
    );
    const active = async () => {
      const res = await api(h.url, operator!, 'GET', '/api/alarms?state=active&limit=5000');
      return ((await res.json()) as { alarms: unknown[] }).alarms.length;
    };
    await expect.poll(active, POLL).toBeGreaterThan(600);
    const page = await wallPage('panels=alarms&sound=off');
    const expected = String(await active());
    await expect.poll(() => page.getByTestId('unacked-count').getAttribute('data-count'), POLL).toBe(expected);
    await page.close();
  });
});
