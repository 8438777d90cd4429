import { describe, expect, it, onTestFinished } from 'vitest';
import { useMockAndBrowser, login, screenshot, signedInContext } from './browser';
import { USERS } from './mock-server';

describe('city overview, live', () => {
  const env = useMockAndBrowser();

  it('shows every ward with its VN_AQI level and updates a value when the server pushes a reading', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    // The schematic map (?map=schematic) draws one element per device; the geographic map has geo-map.test.ts.
    await login(page, env.server.url, 'viewer', '/?map=schematic');
    const cards = page.locator('article.ward-card');
    await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(env.server.city.wards.length);
    // AQI badge carries the level name in Vietnamese, not only a colour (the name comes with /api/limits, which
    // may answer after the values the page was served with).
    await expect.poll(() => cards.first().getByTestId('aqi').innerText()).toMatch(/Tốt|Trung bình|Kém|Xấu|Rất xấu|Nguy hại/);

    await expect.poll(() => env.server.sockets(), { timeout: 15_000 }).toBeGreaterThan(0);
    const card = page.locator('article[data-ward="an-my"]');
    const noise = card.getByTestId('noise-value');
    await expect.poll(() => noise.innerText()).not.toBe('');
    const device = env.server.city.devices.find((d) => d.ward === 'an-my' && d.kind === 'noise_meter')!;
    env.server.push({
      type: 'readings',
      readings: [
        {
          kind: 'noise_meter',
          device: device.id,
          gateway: device.gateway,
          ward: 'an-my',
          ts: Date.now(),
          seq: 99_999,
          values: { laeq: 77.7 },
        },
      ],
    });
    // vi-VN decimal comma, and the limit breach is spelled out, not only coloured.
    await expect.poll(() => noise.innerText(), { timeout: 10_000 }).toBe('77,7');
    await expect.poll(() => card.innerText()).toContain('Vượt giới hạn');
    await expect.poll(() => page.locator('.city-map [data-device]').count()).toBe(env.server.city.devices.length);
    await page.waitForSelector('[data-testid="chart"] .chart-line', { timeout: 15_000 });
    await screenshot(page, 'overview');
    await page.close();
  });

  it('opens a signed-in page from the answers inlined into it: no request before the first values', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
    expect(
      (
        await context.request.post(`${env.server.url}/api/auth/login`, { data: { username: 'viewer', password: USERS.viewer.password } })
      ).ok(),
    ).toBe(true);
    // The overview's code is named in the page's head, so it loads beside the entry instead of after it ran.
    const html = await (await context.request.get(`${env.server.url}/`)).text();
    expect(html).toMatch(/<link rel="modulepreload" crossorigin href="\/assets\/OverviewView-[^"]+\.js">/);
    const page = await context.newPage();
    const asked: string[] = [];
    page.on('request', (r) => r.url().includes('/api/') && asked.push(new URL(r.url()).pathname));
    await page.goto(`${env.server.url}/?map=schematic`);
    const cards = page.locator('article.ward-card');
    await expect.poll(() => cards.count(), { timeout: 15_000 }).toBe(env.server.city.wards.length);
    await expect.poll(() => page.locator('article[data-ward="an-my"]').getByTestId('noise-value').innerText()).not.toBe('');
    expect(await page.getByTestId('user').innerText()).toContain(USERS.viewer.displayName);
    // The session check, the city model, the overview and the limits came with the page.
    expect(asked.filter((p) => ['/api/auth/me', '/api/city', '/api/overview', '/api/limits'].includes(p))).toEqual([]);
    // The live feed is open and patches the inlined values.
    await expect.poll(() => env.server.sockets(), { timeout: 15_000 }).toBeGreaterThan(0);
    await context.close();
  });

  it("loads the browser's number-format data while the app's code downloads, not in its first render", async () => {
    const context = await signedInContext(env.browser, env.server.url);
    const page = await context.newPage();
    // Who made the page's first number formatter (the one that pays for loading ICU's data)? A string, as above.
    await page.addInitScript(`
      window.__firstFormatter = null;
      Intl.NumberFormat = new Proxy(Intl.NumberFormat, {
        construct(target, args) {
          window.__firstFormatter ??= new Error().stack ?? '';
          return Reflect.construct(target, args);
        },
      });`);
    await page.goto(`${env.server.url}/?map=schematic`);
    await expect
      .poll(() => page.locator('article[data-ward="an-my"]').getByTestId('noise-value').innerText(), { timeout: 15_000 })
      .not.toBe('');
    const first = await page.evaluate(() => (window as unknown as { __firstFormatter: string | null }).__firstFormatter);
    expect(first).toContain(`${env.server.url}/warm-intl.js`);
    await context.close();
  });

  it("shows a signed-in page's view in the layout's first frame, not a loading fallback React then holds", async () => {
    const context = await signedInContext(env.browser, env.server.url);
    const page = await context.newPage();
    // Every DOM change is looked at before the browser paints it: was the layout ever there without the view?
    // (A string: the test runner's transform would wrap a function's inner helpers in names the page lacks.)
    await page.addInitScript(`
      window.__layoutWithoutView = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="user"]') && !document.querySelector('main h1')) window.__layoutWithoutView = true;
      }).observe(document, { subtree: true, childList: true });`);
    await page.goto(`${env.server.url}/?map=schematic`);
    await expect.poll(() => page.locator('main h1').innerText(), { timeout: 15_000 }).not.toBe('');
    expect(await page.evaluate(() => (window as unknown as { __layoutWithoutView: boolean }).__layoutWithoutView)).toBe(false);
    await context.close();
  });

  it('shows what the feed said while the view was still loading, at its first render', async () => {
    // Only the frame below: the mock's periodic values (an hourly AQI for each ward in turn) would replace it.
    env.server.setReadingsRunning(false);
    onTestFinished(() => env.server.setReadingsRunning(true));
    const context = await signedInContext(env.browser, env.server.url);
    const page = await context.newPage();
    // The overview's code is held back until the feed has said something the page was not served with.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await page.route(/\/assets\/OverviewView-[^/]+\.js$/, async (route) => {
      await released;
      await route.continue();
    });
    await page.goto(`${env.server.url}/?map=schematic`);
    // The page asks for the overview's live channels as its socket opens, before the view exists.
    await expect.poll(() => env.server.subscribers('derived'), { timeout: 15_000 }).toBeGreaterThan(0);
    const station = env.server.city.devices.find((d) => d.ward === 'an-my' && d.kind === 'air_station')!;
    // A derived hourly AQI is sent once, to the sockets listening then (the server does not repeat it later).
    env.server.push({
      type: 'derived',
      readings: [
        { kind: 'vn_aqi', device: station.id, gateway: station.gateway, ward: 'an-my', ts: Date.now(), seq: -1, values: { aqi: 312 } },
      ],
    });
    release();
    const aqi = page.locator('article[data-ward="an-my"]').getByTestId('aqi');
    await expect.poll(() => aqi.locator('.aqi-value').innerText(), { timeout: 15_000 }).toBe('312');
    await expect.poll(() => aqi.getAttribute('data-level')).toBe('hazardous');
    await context.close();
  });
});
