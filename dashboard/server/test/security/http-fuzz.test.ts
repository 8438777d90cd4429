import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { hashPassword } from '../../src/index';
import { createAlarmsModule } from '../../src/alarms';
import { parseNotifyPolicy } from '../../src/notify';
import { KIOSK_TOKEN, PASSWORDS, startHarness, type Harness, type RoleName, type Session } from '../helpers';

/**
 * Issue #14's HTTP fuzz: 10,000 random query strings and bodies against every route the OpenAPI document
 * lists (core and the alarms module), as every role and anonymously: no answer may be a 5xx. Deterministic
 * (seeded), bounded, real server. A failure names the seed index and the request, so it can be replayed.
 */
const SEED = 0x1c0ffee;
const REQUESTS = 10_000;
const CONCURRENCY = 6;
const ROLES: RoleName[] = ['viewer', 'operator', 'technician', 'admin'];
/** Sign-in guesses come "from" this client (through the configured proxy) so their limit never locks the fuzzer's own re-logins out. */
const GUESSER = '198.51.100.66';

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = [
  '',
  ' ',
  'a',
  'no-such-id',
  '1',
  '0',
  '-1',
  '1e309',
  '9'.repeat(40),
  'NaN',
  'null',
  'true',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '%',
  '%E0%A4%A',
  '%00',
  '..%2F..%2Fetc%2Fpasswd',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  'ă ơ ư đ Ngập',
  '\u0000',
  '\ud800',
  'x'.repeat(5000),
  'gw-an-my',
  'an-my-noise-1',
  'an-phu-water-1',
  'noise_meter',
  'water_level',
  'laeq',
  'level',
  'an-my',
  'open',
  'active',
  'cleared',
  'critical',
  'mean',
  'read_now',
  'set_interval',
  'viewer',
  'admin-2',
  'ghost',
  '2025-06-01T00:00:00Z',
  '1748736000000',
  '60000',
  '3600000',
  '-9007199254740993',
  'https://hooks.example.vn/a',
  'http://127.0.0.1:6379/',
  'file:///etc/passwd',
  '0905111222',
  'scrypt$1$1$1$AA$AA',
];
const KEYS = [
  'kind',
  'fields',
  'from',
  'to',
  'windowMs',
  'aggregate',
  'devices',
  'ward',
  'limit',
  'state',
  'severity',
  'before',
  'token',
  'id',
  'username',
  'password',
  'currentPassword',
  'newPassword',
  'displayName',
  'role',
  'disabled',
  'type',
  'params',
  'intervalMs',
  'comment',
  'baseVersion',
  'rules',
  'recipients',
  'groups',
  'routes',
  'device',
  'city',
  'devices',
  'channels',
  'phone',
  'email',
  'webhookUrl',
  'steps',
  'to',
  'match',
  '__proto__',
  'constructor',
  'prototype',
  'a[b]',
  'x[]',
  'toString',
];

/** Plausible values per query parameter: the fuzz starts from a request that reaches the data, then mutates it. */
const NOW = Date.now();
const PLAUSIBLE: Record<string, string[]> = {
  kind: ['noise_meter', 'water_level', 'vn_aqi', 'air_station'],
  fields: ['laeq', 'level', 'laeq,level', 'constructor', 'laeq,constructor', 'level,constructor', '__proto__', 'pm25,pm10'],
  from: [String(NOW - 2 * 3_600_000), String(NOW - 86_400_000)],
  to: [String(NOW), String(NOW + 60_000)],
  windowMs: ['60000', '3600000', '1000'],
  aggregate: ['mean', 'max', 'min', 'last', 'sum', 'count'],
  devices: ['an-my-noise-1', 'an-phu-water-1', 'an-my-noise-1,an-phu-water-1'],
  ward: ['an-my', 'an-phu'],
  limit: ['1', '10', '5000'],
  state: ['open', 'active', 'cleared', 'active,acknowledged'],
  severity: ['critical', 'warning', 'critical,major'],
  before: ['1', '100'],
};

/** Path parameters never name the fuzzer's own accounts: a PATCH that disables "admin" would only blind the fuzz. */
const PATH_VALUES = STRINGS.filter((s) => !['', ' ', 'viewer', '%', '%E0%A4%A'].includes(s)).concat(['%E0%A4%A', '%', '%zz']);

/** encodeURIComponent, except that a lone surrogate becomes its (invalid) UTF-8 bytes instead of an exception. */
const enc = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\u0001')).replace(/%01/g, '%ED%A0%80');

function generator(seed: number) {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const randomString = () => Array.from({ length: int(20) }, () => String.fromCharCode(32 + int(95))).join('');
  const scalar = (): unknown => {
    switch (int(8)) {
      case 0:
        return pick(STRINGS);
      case 1:
        return randomString();
      case 2:
        return int(3) === 0 ? -int(1e6) : int(1e13);
      case 3:
        return pick([0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 0.1]);
      case 4:
        return rand() < 0.5;
      case 5:
        return null;
      case 6:
        return Date.now() - int(1e9);
      default:
        return pick(STRINGS).repeat(1 + int(3));
    }
  };
  const value = (depth: number): unknown => {
    const r = int(10);
    if (depth > 3 || r < 5) return scalar();
    if (r < 7) return Array.from({ length: int(5) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = int(6); i > 0; i--) o[rand() < 0.8 ? pick(KEYS) : randomString()] = value(depth + 1);
    return o;
  };
  const query = (declared: string[]) => {
    const parts: string[] = [];
    for (const key of declared) if (PLAUSIBLE[key] && rand() < 0.8) parts.push(`${key}=${enc(pick(PLAUSIBLE[key]))}`);
    for (let i = int(4); i > 0; i--) {
      const key = rand() < 0.6 && declared.length ? pick(declared) : pick(KEYS);
      const v = rand() < 0.7 ? String(scalar()) : pick(STRINGS);
      // Mostly encoded; sometimes raw (malformed escapes, brackets) as a hostile client sends them.
      parts.push(rand() < 0.85 ? `${enc(key)}=${enc(v)}` : `${key}=${v.replace(/[#\s&\ud800-\udfff]/g, '')}`);
    }
    return parts.length ? `?${parts.join('&')}` : '';
  };
  const body = (): { text: string; type: string } | undefined => {
    const r = int(20);
    if (r === 0) return undefined;
    if (r === 1) return { text: '{"unterminated": ', type: 'application/json' };
    if (r === 2) return { text: randomString(), type: 'text/plain' };
    if (r === 3) return { text: `${enc(pick(KEYS))}=${enc(String(scalar()))}`, type: 'application/x-www-form-urlencoded' };
    if (r === 4) return { text: JSON.stringify(scalar()), type: 'application/json' };
    return { text: JSON.stringify(value(0)), type: 'application/json' };
  };
  return { rand, int, pick, query, body };
}

let h: Harness;
let routes: Array<{ method: string; path: string; query: string[] }>;
const sessions = new Map<RoleName, Session>();

async function signIn(role: RoleName): Promise<Session> {
  const res = await fetch(`${h.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: role, password: PASSWORDS[role] }),
  });
  if (res.status !== 200) throw new Error(`re-login as ${role}: ${res.status} ${await res.text()}`);
  const s = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
  sessions.set(role, s);
  return s;
}

beforeAll(async () => {
  // Cheap scrypt parameters for this harness only: the fuzz signs in again whenever it logged itself out.
  const users = await Promise.all(
    ROLES.map(async (role) => ({
      username: role,
      displayName: `${role} user`,
      role,
      passwordHash: await hashPassword(PASSWORDS[role], { N: 1024 }),
    })),
  );
  const policy = parseNotifyPolicy({
    recipients: [{ id: 'duty', name: 'Trực ban', phone: '0905111222', channels: ['sms'] }],
    routes: [{ id: 'all', steps: [{ to: ['duty'] }] }],
    providers: { esms: { url: 'http://127.0.0.1:9/never-called', apiKey: 'k', secretKey: 's', brandname: 'TAMKY-IOC' } },
  });
  h = await startHarness({
    modules: [createAlarmsModule({ notify: policy, tickMs: 3_600_000 })],
    config: {
      users,
      kioskTokens: [{ name: 'wall-1', tokenHash: await hashPassword(KIOSK_TOKEN, { N: 1024 }) }],
      http: { host: '127.0.0.1', port: 0, publicUrl: 'http://localhost:8080', trustedProxies: ['127.0.0.1'] },
      login: { maxFailures: 1000, maxFailuresPerAddress: 10, windowMinutes: 15 },
    },
  });
  for (const role of ROLES) await signIn(role);
  // Data for the history routes to reach: a fuzzed query must get past "no such device" to the stored values.
  await h.store.writeBatch(
    Array.from({ length: 30 }, (_, i): StoredReading[] => [
      {
        kind: 'noise_meter',
        device: 'an-my-noise-1',
        gateway: 'gw-an-my',
        ward: 'an-my',
        ts: NOW - i * 120_000,
        seq: i,
        values: { laeq: 50 + (i % 7) },
      },
      {
        kind: 'water_level',
        device: 'an-phu-water-1',
        gateway: 'gw-an-phu',
        ward: 'an-phu',
        ts: NOW - i * 120_000,
        seq: 1000 + i,
        values: { level: 1 + i / 100, distance: 3 },
      },
    ]).flat(),
  );
  const doc = (await (await fetch(`${h.url}/api/openapi.json`, { headers: { cookie: sessions.get('admin')!.cookie } })).json()) as {
    paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>;
  };
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    })),
  );
});
afterAll(async () => {
  await h?.close();
});

describe('HTTP fuzz', () => {
  it(`${REQUESTS} random requests over every route and role: no 5xx`, async () => {
    // Every route of the document, the alarms module's included, and more than a handful of them.
    expect(routes.length).toBeGreaterThan(30);
    expect(routes.some((r) => r.path.startsWith('/api/alarms'))).toBe(true);
    const g = generator(SEED);
    // All requests are generated up front from the seed, so the set does not depend on answer timing.
    const plan = Array.from({ length: REQUESTS }, (_, i) => {
      const route = routes[i % routes.length]!;
      const as = g.pick<RoleName | null>([null, ...ROLES]);
      const path = route.path.replace(/\{[^}]+\}/g, () =>
        g.rand() < 0.9 ? enc(g.pick(PATH_VALUES)) : g.pick(PATH_VALUES).replace(/[\s#?/\ud800-\udfff]/g, ''),
      );
      return {
        i,
        method: route.method,
        as,
        csrf: g.rand() < 0.9,
        url: `${path}${g.query(route.query)}`,
        body: route.method === 'GET' ? undefined : route.method === 'DELETE' ? (g.int(10) === 0 ? g.body() : undefined) : g.body(),
      };
    });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    let relogins = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < plan.length) {
        const req = plan[next++]!;
        for (let attempt = 0; attempt < 2; attempt++) {
          const headers: Record<string, string> = {};
          const session = req.as ? sessions.get(req.as)! : undefined;
          if (session) {
            headers.cookie = session.cookie;
            if (req.csrf) headers['x-csrf-token'] = session.csrf;
          }
          if (req.url.startsWith('/api/auth/')) headers['x-forwarded-for'] = GUESSER;
          if (req.body) headers['content-type'] = req.body.type;
          const res = await fetch(`${h.url}${req.url}`, { method: req.method, headers, ...(req.body ? { body: req.body.text } : {}) });
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500)
            failures.push(
              `#${req.i} ${req.as ?? 'anonymous'} ${req.method} ${req.url.slice(0, 200)} body=${req.body?.text.slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`,
            );
          // The fuzz logged this role out (or a PATCH ended its sessions): sign in again and replay once.
          if (
            res.status === 401 &&
            session &&
            sessions.get(req.as!) === session &&
            (await fetch(`${h.url}/api/auth/me`, { headers: { cookie: session.cookie } })).status === 401
          ) {
            await signIn(req.as!);
            relogins++;
            continue;
          }
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (process.env.FUZZ_REPORT)
      console.log(JSON.stringify({ statuses: Object.fromEntries(statuses), relogins, ms: Date.now() - started }));
    expect(failures).toEqual([]);
    // The fuzz reached the handlers, not just the guard: plenty of 2xx and 4xx other than 401/403.
    const count = (pred: (s: number) => boolean) => [...statuses].filter(([s]) => pred(s)).reduce((n, [, c]) => n + c, 0);
    expect(count((s) => s >= 200 && s < 300)).toBeGreaterThan(500);
    expect(count((s) => s === 400 || s === 404 || s === 409)).toBeGreaterThan(1000);
  });
});
