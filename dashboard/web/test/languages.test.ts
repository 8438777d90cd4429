import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { PAGE_VIEWS, topics } from '@tamky/protocol';
import { vi as VI, en as EN, type MessageKey } from '../src/i18n/dict';
import { createAlarmsModule } from '../../server/src/alarms';
import { api, KIOSK_TOKEN, login, mqttClient, PASSWORDS, startHarness, type Harness } from '../../server/test/helpers';
import { DIST_DIR, ensureBuilt, launchBrowser } from './browser';

/**
 * Every view, signed in as an admin on the real server, in Vietnamese and in English: no text of the other
 * language. Proper names (wards, devices, gateways, people) are Vietnamese in both; text kept verbatim on
 * purpose (a device's own error, a raw payload) carries its own `lang` attribute and is not judged.
 */
// Every route the app loads a view for (PAGE_VIEWS, which App.tsx routes by, so a new view cannot be left out); a device page for /devices.
const ROUTES = Object.keys(PAGE_VIEWS);
const VIEWS = ROUTES.filter((r) => r !== '/wall').map((r) => (r === '/devices' ? '/devices/an-phu-water-1' : r));

const VIETNAMESE_LETTERS = /[ăâđêôơưàáảãạằắẳẵặầấẩẫậèẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]/i;
const ENGLISH_WORDS =
  /\b(the|and|with|from|failed|invalid|must|unknown|not found|error|loading|please|level|alarm|device|data|none|yes|no)\b/i;

/** Dictionary texts that are English only (differ from the Vietnamese and are long enough not to be a shared term). */
const vietnameseTexts = new Set<string>(Object.values(VI));
const englishOnly = (Object.keys(EN) as MessageKey[])
  .map((k) => EN[k].replace(/\{\w+\}/g, '').trim())
  .filter((v, i, all) => v.length >= 8 && !vietnameseTexts.has(v) && all.indexOf(v) === i && !/^[\W\d]+$/.test(v));

/** Visible text and labels of the page, except inside elements marked with another language. */
async function pageTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const lang = document.documentElement.lang;
    const foreign = (el: Element | null) => {
      const marked = el?.closest('[lang]');
      return !!marked && marked !== document.documentElement && marked.getAttribute('lang') !== lang;
    };
    const out: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const text = n.textContent?.trim();
      if (!text || !el || ['SCRIPT', 'STYLE', 'CODE', 'PRE'].includes(el.tagName) || foreign(el)) continue;
      if (!el.checkVisibility()) continue;
      out.push(text);
    }
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
      if (foreign(el)) continue;
      for (const a of ['aria-label', 'title', 'placeholder']) {
        const v = el.getAttribute(a)?.trim();
        if (v) out.push(v);
      }
    }
    return out;
  });
}

describe('every view in one language', () => {
  let h: Harness;
  let browser: Browser;
  let gw: MqttClient;
  let names: string[];

  beforeAll(async () => {
    ensureBuilt();
    h = await startHarness({ modules: [createAlarmsModule({ tickMs: 200 })], config: { webDist: DIST_DIR } });
    gw = await mqttClient(h.mqttUrl);
    const now = Date.now();
    await gw.publishAsync(
      topics.alarmEvent('flood-level', 'an-phu-water-1'),
      JSON.stringify({
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
        since: now,
        ts: now,
        message: { vi: 'Đo mực nước An Phú: mực nước 4,2 m — BÁO ĐỘNG 3', en: 'An Phú water level: 4.2 m — ALARM LEVEL 3' },
      }),
      { qos: 1 },
    );
    await h.store.writeDeadLetters([
      {
        ts: now,
        topic: topics.telemetry('gw-an-phu'),
        gateway: 'gw-an-phu',
        device: 'an-phu-x',
        reason: 'unknown_device: device "an-phu-x" is not in the registry',
        raw: '{"v":1}',
      },
    ]);
    // A device's last failure as its gateway reports it ("kind: detail", the detail in the driver's words).
    await gw.publishAsync(
      topics.health('gw-an-phu'),
      JSON.stringify({
        gateway: 'gw-an-phu',
        ts: now,
        uptimeS: 3600,
        version: '1.0.0',
        configHash: 'abc',
        cpuPct: 3,
        rssBytes: 50_000_000,
        diskFreeBytes: null,
        outbox: { depth: 0, oldestTs: null, bytes: 0, dropped: 0 },
        devices: [
          {
            device: 'an-phu-water-1',
            ok: 10,
            timeouts: 2,
            crcErrors: 0,
            exceptions: 0,
            lastOkTs: now,
            lastError: 'timeout: no answer from unit 12 within 1000 ms',
            lastErrorTs: now,
            backoffUntil: null,
            pollIntervalMs: 5000,
          },
        ],
      }),
      { qos: 1 },
    );
    // Audit entries of every kind the log screen names: an API token created and revoked.
    const admin = await login(h.url, 'admin');
    const created = await api(h.url, admin, 'POST', '/api/tokens', { name: 'grafana', scopes: ['read:readings'] });
    const { token } = (await created.json()) as { token: { id: string } };
    expect((await api(h.url, admin, 'DELETE', `/api/tokens/${token.id}`)).status).toBeLessThan(300);
    names = [
      h.city.name,
      ...h.city.wards.map((w) => w.name),
      ...h.city.devices.map((d) => d.name),
      ...h.city.gateways.map((g) => g.name),
      'admin user',
      'Tiếng Việt',
    ].sort((a, b) => b.length - a.length);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.endAsync();
    await h?.close();
  });

  async function signedIn(lang: 'vi' | 'en'): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(20_000); // inside the test's own timeout, so a stuck step fails naming its locator
    await page.addInitScript((l) => localStorage.setItem('lang', l), lang);
    await page.goto(`${h.url}/`, { waitUntil: 'domcontentloaded' });
    await page.locator('input[autocomplete="username"], input[name="username"]').first().fill('admin');
    await page.locator('input[type="password"]').first().fill(PASSWORDS.admin);
    await page.locator('button[type="submit"]').first().click();
    await page.getByTestId('user').waitFor({ state: 'attached' });
    return page;
  }

  async function problems(page: Page, lang: 'vi' | 'en'): Promise<string[]> {
    const found: string[] = [];
    for (const raw of await pageTexts(page)) {
      let text = raw;
      for (const n of names) text = text.split(n).join(' ');
      // Identifiers (rule ids such as flood-level, device ids, field names) belong to no language.
      text = text.replace(/\b[a-z0-9]+(?:[-_.][a-z0-9]+)+\b/g, ' ');
      if (lang === 'en' && VIETNAMESE_LETTERS.test(text)) found.push(raw);
      if (lang === 'vi' && (ENGLISH_WORDS.test(text) || englishOnly.some((e) => text.includes(e)))) found.push(raw);
    }
    return [...new Set(found)];
  }

  it('knows every view of the app', () => {
    expect(ROUTES.length).toBeGreaterThanOrEqual(15);
    expect(ROUTES).toContain('/wall');
  });

  for (const lang of ['vi', 'en'] as const) {
    it(`${lang}: no text of the other language on any view`, async () => {
      const page = await signedIn(lang);
      const report: string[] = [];
      for (const path of [...VIEWS, `/wall?kiosk=${KIOSK_TOKEN}`]) {
        await page.goto(`${h.url}${path}`, { waitUntil: 'domcontentloaded' });
        await page.locator('main, .wall').first().waitFor();
        // Let the view's first answers arrive (lists, charts) before reading it.
        await page.waitForLoadState('networkidle').catch(() => undefined);
        expect(await page.evaluate(() => document.documentElement.lang)).toBe(lang);
        if (path === '/rules') {
          // The server's verdict on a broken rule set is said in the page's language too.
          await page.locator('#rules-text').fill('[{"id": "x", "kind": "water_level", "threshold": "high"}]');
          await page.getByRole('button', { name: (lang === 'vi' ? VI : EN)['rules.validate'], exact: true }).click();
          await expect.poll(() => page.getByTestId('rules-outcome').innerText()).not.toBe('');
        }
        for (const p of await problems(page, lang)) report.push(`${path}: ${p}`);
      }
      expect(report, `text in the other language:\n${report.join('\n')}`).toEqual([]);
      // The check itself can fail: a text of the other language put on the page is found.
      const planted = lang === 'vi' ? EN['app.loading'] : VI['app.loading'];
      await page.evaluate(
        (text) => document.querySelector('main, .wall')!.append(Object.assign(document.createElement('p'), { textContent: text })),
        planted,
      );
      expect(await problems(page, lang)).toContain(planted);
      await page.close();
    });
  }
});
