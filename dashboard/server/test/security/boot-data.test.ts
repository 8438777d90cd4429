import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOT_DATA_ID, type BootData } from '@tamky/protocol';
import { tempDir } from '@tamky/test-support';
import { hashPassword } from '../../src/passwords';
import { api, cookieOf, loadCity, login, PASSWORDS, startHarness, type Harness, type Session } from '../helpers';

/** A ward name that would end the data block and run a script if it were written into the page unescaped. */
const HOSTILE = '</script><script>window.pwned=1</script><!--';
const BLOCK = new RegExp(`<script type="application/json" id="${BOOT_DATA_ID}">([^<]*)</script>`);

async function page(h: Harness, session: Session | null, path = '/'): Promise<{ html: string; res: Response }> {
  const res = await fetch(`${h.url}${path}`, { headers: session ? { cookie: session.cookie } : {} });
  return { html: await res.text(), res };
}
const bootOf = (html: string): BootData => JSON.parse(BLOCK.exec(html)![1]!) as BootData;

/**
 * index.html carries a signed-in browser's first answers (session, city, the route's data) so the app renders
 * without a round trip. It must hold exactly what the API would answer that caller (role and ward rules), nothing
 * for a browser without a session, never be cached, and no value may break out of the data block.
 */
describe('answers inlined into index.html', () => {
  let h: Harness;
  let viewer: Session;
  let wardUser: Session;

  beforeAll(async () => {
    const webDist = tempDir('boot-web');
    writeFileSync(
      join(webDist, 'index.html'),
      '<!doctype html><html><head><title>t</title></head><body><div id="root"></div></body></html>',
    );
    // A build manifest (Vite's shape): the entry's chunks, and the overview's view with a chunk of its own.
    mkdirSync(join(webDist, '.vite'));
    writeFileSync(
      join(webDist, '.vite/manifest.json'),
      JSON.stringify({
        'index.html': { file: 'assets/main-1.js', isEntry: true, imports: ['_react-1.js'] },
        '_react-1.js': { file: 'assets/react-1.js' },
        '_useApi-1.js': { file: 'assets/useApi-1.js', imports: ['_react-1.js'] },
        'src/views/OverviewView.tsx': {
          file: 'assets/OverviewView-1.js',
          imports: ['_react-1.js', '_useApi-1.js'],
          css: ['assets/OverviewView-1.css'],
        },
        'src/views/AlarmsView.tsx': { file: 'assets/AlarmsView-1.js', imports: ['_useApi-1.js'] },
      }),
    );
    const city = loadCity();
    city.wards[0] = { ...city.wards[0]!, name: HOSTILE };
    // One password for both accounts: a single scrypt hash to make.
    const passwordHash = await hashPassword(PASSWORDS.viewer);
    h = await startHarness({
      city,
      config: {
        webDist,
        users: [
          { username: 'viewer', displayName: 'viewer user', role: 'viewer', passwordHash },
          { username: 'ward-officer', displayName: 'ward officer', role: 'operator', passwordHash, wards: [city.wards[1]!.id] },
        ],
      },
    });
    viewer = await login(h.url, 'viewer');
    const res = await fetch(`${h.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ward-officer', password: PASSWORDS.viewer }),
    });
    expect(res.status).toBe(200);
    wardUser = { cookie: cookieOf(res), csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
  });
  afterAll(() => h?.close());

  it('gives a browser without a session the plain page', async () => {
    const { html, res } = await page(h, null);
    expect(res.status).toBe(200);
    expect(html).not.toContain(BOOT_DATA_ID);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const stale = await page(h, { cookie: 'sid=not-a-session', csrf: '' });
    expect(stale.html).not.toContain(BOOT_DATA_ID);
  });

  it('inlines what the API answers the caller, and the page is never stored', async () => {
    const { html, res } = await page(h, viewer);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('vary')).toContain('Cookie');
    const { answers } = bootOf(html);
    expect(Object.keys(answers).sort()).toEqual(['/api/auth/me', '/api/city', '/api/limits', '/api/overview']);
    expect(answers['/api/auth/me']).toEqual(await (await api(h.url, viewer, 'GET', '/api/auth/me')).json());
    expect(answers['/api/city']).toEqual(await (await api(h.url, viewer, 'GET', '/api/city')).json());
    expect(answers['/api/limits']).toEqual(await (await api(h.url, viewer, 'GET', '/api/limits')).json());
    // Other pages: the session and the city only.
    expect(Object.keys(bootOf((await page(h, viewer, '/gateways')).html).answers).sort()).toEqual(['/api/auth/me', '/api/city']);
  });

  it('narrows to a ward-limited account as the API does', async () => {
    const { answers } = bootOf((await page(h, wardUser)).html);
    const city = answers['/api/city'] as { wards: Array<{ id: string }> };
    expect(city.wards.map((w) => w.id)).toEqual([h.city.wards[1]!.id]);
    expect(answers['/api/city']).toEqual(await (await api(h.url, wardUser, 'GET', '/api/city')).json());
    const overview = answers['/api/overview'] as { wards: Array<{ ward: string }> };
    expect(overview.wards.map((w) => w.ward)).toEqual([h.city.wards[1]!.id]);
  });

  it('keeps a hostile name inside the data block', async () => {
    const { html } = await page(h, viewer);
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html).not.toContain('<!--');
    const city = bootOf(html).answers['/api/city'] as { wards: Array<{ name: string }> };
    expect(city.wards[0]!.name).toBe(HOSTILE);
  });

  it("names the page's view code in its head, beyond what the entry loads, signed in or not", async () => {
    const preloads = (html: string) =>
      [...html.matchAll(/<link rel="(modulepreload|stylesheet)" crossorigin href="([^"]+)">/g)].map((m) => `${m[1]} ${m[2]}`);
    for (const session of [viewer, null])
      expect(preloads((await page(h, session)).html)).toEqual([
        'modulepreload /assets/OverviewView-1.js',
        'stylesheet /assets/OverviewView-1.css',
        'modulepreload /assets/useApi-1.js',
      ]);
    expect(preloads((await page(h, viewer, '/alarms/a-1')).html)).toEqual([
      'modulepreload /assets/AlarmsView-1.js',
      'modulepreload /assets/useApi-1.js',
    ]);
    expect(preloads((await page(h, viewer, '/no-such-page')).html)).toEqual([]);
  });

  it('stops inlining once the session ends', async () => {
    const s = await login(h.url, 'viewer');
    expect(bootOf((await page(h, s)).html).answers['/api/auth/me']).toBeTruthy();
    expect((await api(h.url, s, 'POST', '/api/auth/logout', {})).status).toBeLessThan(300);
    expect((await page(h, s)).html).not.toContain(BOOT_DATA_ID);
  });
});
