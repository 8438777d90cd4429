import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '@tamky/test-support';
import { afterAll, beforeAll } from 'vitest';
import { startMockServer, USERS, type MockRole, type MockServer } from './mock-server';

export const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DIST_DIR = fileURLToPath(new URL('../dist', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../../..', import.meta.url));
export const SCREENSHOT_DIR = `${REPO_DIR}test-artifacts/screenshots`;

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Builds dist/ once if missing (the root `npm test` builds it before vitest too). Test files run in parallel
 * workers, so one builds under a lock directory while the others wait for it.
 */
export function ensureBuilt(): void {
  const lock = `${WEB_DIR}.build-lock`;
  const deadline = Date.now() + 240_000;
  while (!existsSync(`${DIST_DIR}/index.html`) || existsSync(lock)) {
    if (Date.now() > deadline) throw new Error(`dashboard/web/dist not built after 240 s (stale lock? remove ${lock})`);
    try {
      mkdirSync(lock);
    } catch {
      sleep(500);
      continue;
    }
    try {
      if (!existsSync(`${DIST_DIR}/index.html`))
        execFileSync('npm', ['run', 'build', '-w', 'dashboard/web'], { cwd: REPO_DIR, stdio: 'inherit', timeout: 240_000 });
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Debian's Chromium, as every browser test in the project starts it. */
export const launchBrowser = (): Promise<Browser> => launchChromium();

export async function login(page: Page, baseUrl: string, role: MockRole, path = '/'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('Tên đăng nhập').fill(role);
  await page.getByLabel('Mật khẩu').fill(USERS[role].password);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('user').waitFor({ state: 'attached', timeout: 20_000 });
}

/** A desktop page signed in as `role` at `path`; a stuck step fails after 15 s naming its locator. */
export async function signedInPage(browser: Browser, baseUrl: string, role: MockRole, path = '/'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(15_000);
  await login(page, baseUrl, role, path);
  return page;
}

/**
 * A browser context whose session cookie is set through the API before any page opens: its first page load is a
 * signed-in one (the server inlines the first answers), as a returning operator's is.
 */
export async function signedInContext(
  browser: Browser,
  baseUrl: string,
  role: MockRole = 'viewer',
  viewport = { width: 1440, height: 900 },
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  const res = await context.request.post(`${baseUrl}/api/auth/login`, { data: { username: role, password: USERS[role].password } });
  if (!res.ok()) throw new Error(`login as ${role} failed: ${res.status()}`);
  return context;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

/** Runs axe-core in the page; returns serious and critical violations only. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: false });
}

/** Fails with the violations listed when axe finds anything serious or critical. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const violations = await seriousViolations(page);
  if (violations.length) throw new Error(`${name}: axe found serious/critical violations:\n${JSON.stringify(violations, null, 1)}`);
}

/**
 * The setup every browser test file shares: the built app served by the mock server, and one Chromium.
 * Registers the hooks and returns the handles, filled in once beforeAll has run.
 */
export function useMockAndBrowser(options: { tickMs?: number; pingMs?: number } = {}): { server: MockServer; browser: Browser } {
  const env = {} as { server: MockServer; browser: Browser };
  beforeAll(async () => {
    ensureBuilt();
    env.server = await startMockServer({ distDir: DIST_DIR, ...options });
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}
