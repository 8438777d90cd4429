import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { ConfigError, topics, type LimitsAnswer } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { launchChromium, tempDir, waitFor } from '@tamky/test-support';
import { startIngestWithAlarms, type IngestHandle } from '@tamky/ingest';
import { startDashboard } from '../src/index';
import { createAlarmsModule } from '../src/alarms';
import { api, loadCity, login, mqttClient, PASSWORDS, startHarness, type Harness, type Session } from './helpers';

const REPO = join(import.meta.dirname, '..', '..', '..');
const WEB_DIST = join(REPO, 'dashboard/web/dist');
const STATION = 'an-phu-air-1';
const GATEWAY = 'gw-an-phu';

/** The city renames level 4 ("Xấu" / "Bad") and paints it blue: nothing in code knows these names. */
const RENAMED = { vi: 'Ô nhiễm thử nghiệm', en: 'Trial polluted', colour: 'blue', rgb: [30, 60, 200] as [number, number, number] };

/** Changes VN_AQI level 4 in a copy of vn-aqi.yaml, whatever the file's layout. */
function editLevel4(file: string, patch: Record<string, unknown>): void {
  const doc = parse(readFileSync(file, 'utf8')) as { levels: Array<Record<string, unknown>> };
  const bad = doc.levels.find((l) => l.level === 4 && l.id === 'bad');
  if (!bad) throw new Error('level 4 not found in config/limits/vn-aqi.yaml');
  Object.assign(bad, patch);
  writeFileSync(file, stringify(doc));
}

function limitsCopy(): string {
  const dir = tempDir('limits-copy');
  cpSync(join(REPO, 'config/limits'), dir, { recursive: true });
  const file = join(dir, 'vn-aqi.yaml');
  editLevel4(file, { vi: RENAMED.vi, en: RENAMED.en, colour: RENAMED.colour, rgb: RENAMED.rgb });
  return dir;
}

/**
 * Limits are data: the whole system pointed at a copy of config/limits with VN_AQI level 4 renamed and
 * recoloured. A station's PM2.5 puts its AQI in level 4; the alarm text ingest writes, the API answers and
 * the page Chromium renders all carry the file's names and colour. Real mosquitto, SQLite, ingest, dashboard.
 */
describe('VN_AQI levels follow config/limits', () => {
  let h: Harness;
  let ingest: IngestHandle;
  let gateway: MqttClient;
  let browser: Browser;
  let viewer: Session;
  const limitsDir = limitsCopy();

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) throw new Error('dashboard/web/dist is not built: run `npm run build -w dashboard/web`');
    const rulesFile = join(tempDir('limits-rules'), 'rules.yaml');
    // Immediate rule (the shipped one waits 10 minutes): raised as soon as the derived AQI reaches level 4.
    writeFileSync(
      rulesFile,
      stringify({
        version: 1,
        rules: [{ id: 'aqi-bad', type: 'vn_aqi_level', category: 'air', severity: 'major', minAqi: 151, forS: 0, clearForS: 0 }],
      }),
    );
    h = await startHarness({ modules: [createAlarmsModule({ rulesFile })], config: { limitsDir, webDist: WEB_DIST } });
    viewer = await login(h.url, 'viewer');
    ingest = await startIngestWithAlarms(
      {
        mqtt: { url: h.mqttUrl, clientId: 'ingest-limits' },
        limitsDir,
        batch: { maxReadings: 100, maxDelayMs: 20 },
        alarms: { rulesFile },
      },
      { store: h.store, city: h.city, logger: createLogger('ingest-test', { level: process.env.TEST_LOG ?? 'silent' }) },
    );
    gateway = await mqttClient(h.mqttUrl);
    browser = await launchChromium();
    // PM2.5 120 µg/m³ → sub-index 179: level 4 (151–200). Sent until the alarm is in, as a gateway would keep polling.
    let seq = 0;
    await waitFor(
      async () => {
        const ts = Date.now();
        const readings = [{ device: STATION, ts, seq: seq++, values: { pm25: { v: 120, u: 'ug/m3' }, pm10: { v: 100, u: 'ug/m3' } } }];
        await gateway.publishAsync(topics.telemetry(GATEWAY), JSON.stringify({ v: 1, gateway: GATEWAY, readings }), { qos: 1 });
        const { alarms } = (await (await api(h.url, viewer, 'GET', '/api/alarms?state=active')).json()) as {
          alarms: Array<{ ruleId: string }>;
        };
        return alarms.some((a) => a.ruleId === 'aqi-bad');
      },
      { what: 'the VN_AQI alarm of the station', timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.endAsync();
    await ingest?.close();
    await h?.close();
  });

  it('the alarm text ingest writes names the level as the file does', async () => {
    const { alarms } = (await (await api(h.url, viewer, 'GET', '/api/alarms?state=active')).json()) as {
      alarms: Array<{ ruleId: string; message: { vi: string; en: string } }>;
    };
    const alarm = alarms.find((a) => a.ruleId === 'aqi-bad')!;
    expect(alarm.message.vi).toContain(`mức ${RENAMED.vi}`);
    expect(alarm.message.en).toContain(RENAMED.en);
    expect(alarm.message.en).not.toContain('Bad');
  });

  it('the API serves the file: GET /api/limits and the overview tile', async () => {
    const limits = (await (await api(h.url, viewer, 'GET', '/api/limits')).json()) as LimitsAnswer;
    expect(limits.aqi.levels[3]).toMatchObject({ level: 4, id: 'bad', max: 200, ...RENAMED });
    const overview = (await (await api(h.url, viewer, 'GET', '/api/overview')).json()) as {
      wards: Array<{ ward: string; aqi: { value: number; level: string; color: string } | null }>;
    };
    const tile = overview.wards.find((w) => w.ward === 'an-phu')!.aqi!;
    expect(tile.level).toBe('bad');
    expect(tile.color).toBe('#1e3cc8');
  });

  it('the rendered page shows the file’s names and colour, in both languages', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    try {
      await page.goto(`${h.url}/`);
      await page.getByLabel('Tên đăng nhập').fill('viewer');
      await page.getByLabel('Mật khẩu').fill(PASSWORDS.viewer);
      await page.getByRole('button', { name: 'Đăng nhập' }).click();
      const badge = page.locator('[data-testid="aqi"][data-level="bad"]').first();
      await badge.waitFor({ timeout: 30_000 });
      expect(await badge.innerText()).toContain(RENAMED.vi);
      expect(await badge.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(`rgb(${RENAMED.rgb.join(', ')})`);

      await page.goto(`${h.url}/?lang=en`);
      const en = page.locator('[data-testid="aqi"][data-level="bad"]').first();
      await en.waitFor({ timeout: 30_000 });
      await expect.poll(() => en.innerText(), { timeout: 10_000 }).toContain(RENAMED.en);
    } finally {
      await page.close();
    }
  });
});

describe('an invalid limits file', () => {
  it('is refused at start by the dashboard and by ingest, naming the file and the field', async () => {
    const dir = limitsCopy();
    const file = join(dir, 'vn-aqi.yaml');
    editLevel4(file, { max: 120 }); // below level 3's upper bound: the levels no longer ascend
    const silent = createLogger('limits-test', { level: 'silent' });
    const state = tempDir('limits-refused');
    const dashboard = startDashboard(
      {
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { url: 'mqtt://127.0.0.1:1' },
        stateDb: join(state, 'state.db'),
        users: [],
        limitsDir: dir,
      },
      { store: undefined as never, city: loadCity(), logger: silent },
    );
    await expect(dashboard).rejects.toThrow(ConfigError);
    await expect(dashboard).rejects.toThrow(/vn-aqi\.yaml: levels/);
    const ing = startIngestWithAlarms(
      { mqtt: { url: 'mqtt://127.0.0.1:1' }, limitsDir: dir },
      { store: undefined as never, city: loadCity(), logger: silent },
    );
    await expect(ing).rejects.toThrow(/vn-aqi\.yaml: levels/);
  });
});
