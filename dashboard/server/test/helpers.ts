import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { cityModelSchema, type CityModel, type TimeSeriesStore } from '@tamky/protocol';
import { openStore } from '@tamky/store';
import { createLogger } from '@tamky/service-kit';
import { startMosquitto, tempDir, waitFor } from '@tamky/test-support';
import { hashPassword, startDashboard, type DashboardConfig, type DashboardHandle, type DashboardModule } from '../src/index';

export const PASSWORDS = { viewer: 'view-pass-1', operator: 'oper-pass-1', technician: 'tech-pass-1', admin: 'admin-pass-1' } as const;
export const KIOSK_TOKEN = 'wall-token-0123456789abcdef';
/** For harnesses that serve /metrics on the dashboard port (behind this bearer token). */
export const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
export type RoleName = keyof typeof PASSWORDS;

const REPO = join(import.meta.dirname, '..', '..', '..');
export const loadCity = (): CityModel => cityModelSchema.parse(parseYaml(readFileSync(join(REPO, 'config/tam-ky/city.yaml'), 'utf8')));

let seedCache: Promise<DashboardConfig['users'] & object> | undefined;
let kioskHash: Promise<string> | undefined;
const seeds = () =>
  (seedCache ??= Promise.all(
    (Object.keys(PASSWORDS) as RoleName[]).map(async (role) => ({
      username: role,
      displayName: `${role} user`,
      role,
      passwordHash: await hashPassword(PASSWORDS[role]),
    })),
  ));

export interface Harness {
  url: string;
  mqttUrl: string;
  store: TimeSeriesStore;
  city: CityModel;
  dir: string;
  config: DashboardConfig;
  /** The route table of the running dashboard. */
  readonly routes: DashboardHandle['routes'];
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Real mosquitto, the real SQLite store in a temp dir, the dashboard on port 0. */
export async function startHarness(
  opts: {
    modules?: DashboardModule[];
    config?: Partial<DashboardConfig>;
    now?: () => number;
    city?: CityModel;
    /** Another store than the SQLite one in the temp dir (closed with the harness). */
    store?: TimeSeriesStore;
  } = {},
): Promise<Harness> {
  const broker = await startMosquitto();
  const dir = tempDir('dashboard');
  const store = opts.store ?? (await openStore({ type: 'sqlite', path: join(dir, 'readings.db') }));
  const city = opts.city ?? loadCity();
  const config: DashboardConfig = {
    http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080' },
    mqtt: { url: broker.url, clientId: `dashboard-test-${Math.random().toString(36).slice(2)}` },
    stateDb: join(dir, 'state.db'),
    users: await seeds(),
    kioskTokens: [{ name: 'wall-1', tokenHash: await (kioskHash ??= hashPassword(KIOSK_TOKEN)) }],
    limitsDir: join(import.meta.dirname, '../../../config/limits'),
    ...opts.config,
  };
  const logger = createLogger('dashboard-test', { level: process.env.TEST_LOG ?? 'silent' });
  const start = () =>
    startDashboard(config, {
      store,
      city,
      logger,
      ...(opts.modules ? { modules: opts.modules } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
  let dashboard = await start();
  const h: Harness = {
    url: dashboard.url,
    mqttUrl: broker.url,
    store,
    city,
    dir,
    config,
    get routes() {
      return dashboard.routes;
    },
    async restart() {
      await dashboard.close();
      config.http = { ...config.http, port: dashboard.port };
      dashboard = await start();
      h.url = dashboard.url;
    },
    async close() {
      await dashboard.close();
      await store.close();
      await broker.stop();
    },
  };
  return h;
}

export interface Session {
  cookie: string;
  csrf: string;
}

export async function login(url: string, role: RoleName): Promise<Session> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: role, password: PASSWORDS[role] }),
  });
  if (res.status !== 200) throw new Error(`login as ${role}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: cookieOf(res), csrf: body.csrfToken };
}

export function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  return set.split(';')[0]!;
}

/** A request as the web app makes it: the session cookie and, on non-GET, the CSRF header. */
export async function api(url: string, session: Session | null, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (session) {
    headers.cookie = session.cookie;
    if (method !== 'GET') headers['x-csrf-token'] = session.csrf;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

export async function mqttClient(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: `test-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 200 });
}

/** A WebSocket client that records every JSON frame. */
export async function wsClient(
  url: string,
  init: { cookie?: string; query?: string; origin?: string } = {},
): Promise<{
  ws: WebSocket;
  frames: Array<Record<string, unknown>>;
  next(pred: (f: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
}> {
  const frames: Array<Record<string, unknown>> = [];
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  if (init.origin) headers.origin = init.origin;
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws${init.query ?? ''}`, { headers });
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`ws refused: ${res.statusCode}`)));
  });
  return { ws, frames, next: (pred, what) => waitFor(() => frames.find(pred), { what, timeoutMs: 15_000 }) };
}
