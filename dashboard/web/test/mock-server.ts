import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  bootUrlsFor,
  commandStatus,
  deskRows,
  isValidName,
  withBootData,
  viewPreloadTags,
  type ViteManifest,
  type CityModel,
  type CommandResult,
  type StoredReading,
} from '@tamky/protocol';
import {
  loadLimits,
  aqiFromPm25,
  aqiLevel,
  deadLetters,
  gatewayHealth,
  history,
  initialAlarms,
  loadCity,
  readingAt,
  valuesAt,
  type MockAlarm,
  type MockClockStretch,
} from './mock-data';

/**
 * A stand-in for dashboard/server that implements the docs/api.md routes the web app uses, with cookie
 * sessions, CSRF and roles, plus the `/ws` live feed. Tests drive the feed: push frames, pause it, cut it.
 */
export const USERS = {
  viewer: { password: 'viewer-pass', role: 'viewer', displayName: 'Nguyễn Văn Xem' },
  operator: { password: 'operator-pass', role: 'operator', displayName: 'Trần Thị Điều Hành' },
  technician: { password: 'technician-pass', role: 'technician', displayName: 'Lê Văn Kỹ Thuật' },
  admin: { password: 'admin-pass', role: 'admin', displayName: 'Phạm Quản Trị' },
} as const;
export type MockRole = keyof typeof USERS;
export const KIOSK_TOKEN = 'wall-kiosk-token';
const COMMAND_TIMEOUT_MS = 3000;
const RANK: Record<MockRole, number> = { viewer: 0, operator: 1, technician: 2, admin: 3 };

interface SessionRec {
  username: string;
  role: MockRole;
  displayName: string;
  csrfToken: string;
}

export interface MockServer {
  url: string;
  city: CityModel;
  alarms: MockAlarm[];
  commands: Array<{ gateway: string; body: Record<string, unknown> }>;
  /** Account changes made through the admin routes (who, what; never the password). */
  adminAudit: Array<{ user: string; action: string; detail: Record<string, unknown> }>;
  /** Simulates another admin saving the rules meanwhile (the next stale PUT gets 409). */
  bumpRules(): void;
  /** The same for the notification recipients. */
  bumpRecipients(): void;
  /** The recipients as the server holds them now (version, list). */
  recipients(): { version: number; recipients: Array<Record<string, unknown>> };
  /** Readings of one ward's devices stop (the latest of them is `sinceMs` old); null resumes. */
  silenceWard(ward: string | null, sinceMs?: number): void;
  /** Current password of a login (changed through POST /api/auth/password). */
  passwordOf(user: MockRole): string;
  /** Send a frame to every connected socket subscribed to its channel. */
  push(frame: Record<string, unknown>): void;
  /** Stop/restart the periodic readings (pings continue): the "data stopped but feed alive" case. */
  setReadingsRunning(on: boolean): void;
  /** Close every socket and refuse new ones until allowed again: the "feed cut" case. */
  cutFeed(refuse: boolean): void;
  sockets(): number;
  /** Sockets subscribed to a live channel. */
  subscribers(channel: string): number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
};

export async function startMockServer(opts: { distDir: string; tickMs?: number; pingMs?: number }): Promise<MockServer> {
  const city = loadCity();
  const limits = loadLimits();
  const sessions = new Map<string, SessionRec>();
  const alarms = initialAlarms(city, Date.now());
  const audit = new Map<string, Array<{ ts: number; user: string; action: string; detail: string | null }>>();
  const commands: MockServer['commands'] = [];
  const commandResults = new Map<string, { id: string; gateway: string; command: unknown; sentAt: number; result: unknown }>();
  const offlineGateway = city.gateways[city.gateways.length - 1]!.id;
  // Its readings of a quarter hour two hours back carry clock marks (mock-data MockClockStretch).
  const clockStretch: MockClockStretch = { gateway: offlineGateway, start: Math.floor((Date.now() - 2 * 3_600_000) / 900_000) * 900_000 };
  const overrides = new Map<string, StoredReading>();
  let seq = 1;
  let readingsRunning = true;
  let refuse = false;
  // Accounts and rules for the admin screens (the login table above stays the fixed USERS).
  const accounts = new Map(
    Object.entries(USERS).map(([username, u]) => [
      username,
      {
        username,
        displayName: u.displayName as string,
        role: u.role as MockRole,
        disabled: false,
        createdAt: Date.now() - 30 * 86_400_000,
        lastLogin: (username === 'technician' ? null : Date.now() - 3_600_000) as number | null,
        password: u.password as string,
      },
    ]),
  );
  const adminAudit: MockServer['adminAudit'] = [];
  let rules: { version: number; rules: unknown[]; updatedBy: string | null; updatedAt: number | null } = {
    version: 3,
    rules: [{ id: 'pm25-high', kind: 'air_station', field: 'pm25', op: '>', value: 50, severity: 'major' }],
    updatedBy: 'admin',
    updatedAt: Date.now() - 86_400_000,
  };
  const ruleProblem = (list: unknown): string | null => {
    if (!Array.isArray(list)) return 'rules: expected an array';
    const bad = list.findIndex((r) => typeof (r as { id?: unknown })?.id !== 'string');
    return bad >= 0 ? `rules.${bad}.id: required` : null;
  };

  for (const a of alarms) {
    audit.set(a.id, [{ ts: a.firstSeen, user: 'system', action: 'raised', detail: null }]);
  }

  const passwords = new Map<string, string>(Object.entries(USERS).map(([u, x]) => [u, x.password]));
  let silenced: { ward: string; at: number } | null = null;
  let directory = {
    version: 2,
    updatedBy: 'admin',
    updatedAt: Date.now() - 86_400_000,
    recipients: [
      { id: 'tech-ward-north', name: 'Kỹ thuật khu Bắc', phone: '84905000101', channels: ['zalo', 'sms'] },
      {
        id: 'duty-supervisor',
        name: 'Trưởng ca trực IOC',
        phone: '84905000201',
        email: 'truc-ban@tamky.gov.vn',
        channels: ['sms', 'email'],
      },
      { id: 'flood-committee', name: 'Ban chỉ huy PCTT thành phố', phone: '84905000501', channels: ['sms'] },
    ] as Array<Record<string, unknown>>,
    groups: [{ id: 'field-technicians', members: ['tech-ward-north'], onCall: [] }] as unknown[],
    routes: [
      {
        id: 'flood',
        match: { categories: ['water'] },
        steps: [
          { afterMin: 0, to: ['group:field-technicians'] },
          { afterMin: 10, to: ['duty-supervisor'], channels: ['sms'] },
          { afterMin: 30, to: ['flood-committee'] },
        ],
        notifyClear: true,
      },
    ] as unknown[],
  };
  const normalisePhone = (input: string): string | undefined => {
    const digits = input.replace(/[\s.\-()]/g, '').replace(/^\+/, '');
    if (!/^\d+$/.test(digits)) return undefined;
    const national = digits.startsWith('84') ? digits.slice(2) : digits.startsWith('0') ? digits.slice(1) : digits;
    return /^[1-9]\d{8,9}$/.test(national) ? `84${national}` : undefined;
  };

  const latestOf = (d: CityModel['devices'][number], now: number): StoredReading => {
    if (silenced && d.ward === silenced.ward) return readingAt(d, silenced.at, 0);
    const o = overrides.get(d.id);
    const ts = now - (now % d.pollIntervalMs);
    return o ?? readingAt(d, ts, 0);
  };

  const overview = () => {
    const now = Date.now();
    return {
      ts: now,
      wards: city.wards.map((w) => {
        const devs = city.devices.filter((d) => d.ward === w.id);
        const air = devs.find((d) => d.kind === 'air_station');
        const noise = devs.find((d) => d.kind === 'noise_meter');
        const water = devs.find((d) => d.kind === 'water_level');
        const lights = devs.filter((d) => d.kind === 'street_light');
        const traffic = devs.find((d) => d.kind === 'traffic_counter');
        const aqiVal = air ? aqiFromPm25(latestOf(air, now).values.pm25 ?? 0) : null;
        const zone = noise?.zone ?? 'normal';
        const counts = { critical: 0, major: 0, minor: 0, warning: 0 };
        for (const a of alarms) if (a.ward === w.id && a.state !== 'cleared') counts[a.severity]++;
        let on = 0;
        let dimmed = 0;
        let failed = 0;
        let total = 0;
        for (const l of lights) {
          const v = latestOf(l, now).values;
          for (let i = 1; i <= (l.lamps ?? 4); i++) {
            total++;
            const level = v[`lamp${i}_level`] ?? 0;
            const status = v[`lamp${i}_status`] ?? 0;
            if (status & 0b11) failed++;
            else if (level > 0 && level < 100) dimmed++;
            else if (level > 0) on++;
          }
        }
        const tv = traffic ? latestOf(traffic, now).values : null;
        let flow = 0;
        let occ = 0;
        let lanes = 0;
        if (tv) {
          for (let lane = 1; lane <= 4; lane++) {
            if (tv[`lane${lane}_car`] === undefined) continue;
            lanes++;
            flow +=
              (tv[`lane${lane}_motorbike`] ?? 0) +
              (tv[`lane${lane}_car`] ?? 0) +
              (tv[`lane${lane}_bus`] ?? 0) +
              (tv[`lane${lane}_truck`] ?? 0);
            occ += tv[`lane${lane}_occupancy`] ?? 0;
          }
        }
        return {
          ward: w.id,
          aqi: aqiVal === null ? null : { value: aqiVal, ...aqiLevel(aqiVal), ts: now - 60_000 },
          noise: noise
            ? { laeq: latestOf(noise, now).values.laeq!, limit: zone === 'special' ? 55 : 70, zone, ts: latestOf(noise, now).ts }
            : null,
          water: water
            ? {
                level: latestOf(water, now).values.level!,
                alarmLevels: water.alarmLevels ?? [2, 3, 4],
                stage: (water.alarmLevels ?? [2, 3, 4]).filter((l) => (latestOf(water, now).values.level ?? 0) >= l).length,
                ts: latestOf(water, now).ts,
              }
            : null,
          lights: lights.length ? { on, dimmed, failed, total, ts: now - (now % 5000) } : null,
          traffic: tv
            ? {
                flowPerHour: Math.round((flow * 3600) / (tv.interval ?? 60)),
                congestion: Math.round(occ / Math.max(lanes, 1)) / 100,
                ts: now - (now % 10_000),
              }
            : null,
          alarms: counts,
        };
      }),
    };
  };

  const gateways = () => {
    const now = Date.now();
    return city.gateways.map((g) => ({
      id: g.id,
      ward: g.ward,
      name: g.name,
      state: g.id === offlineGateway ? 'offline' : 'online',
      lastSeen: g.id === offlineGateway ? now - 47 * 60_000 : now - 3000,
      health:
        g.id === offlineGateway
          ? {
              ...gatewayHealth(city, g.id, now - 47 * 60_000),
              outbox: { depth: 1250, oldestTs: now - 47 * 60_000, bytes: 400_000, dropped: 0, notDurable: 256 },
              // Booted without a real-time clock: NTP stepped it back an hour, then lost sync.
              clock: { era: 1, steps: 1, lastStepMs: -3_600_000, lastStepAt: now - 50 * 60_000, synced: false },
            }
          : gatewayHealth(city, g.id, now),
      ...(g.id === offlineGateway ? { clockOffsetMs: 95_000 } : {}),
    }));
  };

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, error: string, message: string) => send(res, status, { error, message });
  const readBody = (req: IncomingMessage): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        try {
          resolve(data ? (JSON.parse(data) as Record<string, unknown>) : {});
        } catch {
          resolve({});
        }
      });
    });
  const sessionOf = (req: IncomingMessage): SessionRec | null => {
    const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    return sid ? (sessions.get(sid) ?? null) : null;
  };
  const newSession = (res: ServerResponse, username: string, role: MockRole, displayName: string) => {
    const sid = randomUUID();
    const rec: SessionRec = { username, role, displayName, csrfToken: randomUUID() };
    sessions.set(sid, rec);
    send(
      res,
      200,
      { user: { username, role, displayName }, csrfToken: rec.csrfToken },
      { 'set-cookie': `sid=${sid}; HttpOnly; SameSite=Strict; Path=/` },
    );
  };
  const csv = (series: ReturnType<typeof history>) =>
    [
      'time,device,ward,field,value',
      ...series.flatMap((s) => s.points.map(([ts, v]) => `${new Date(ts).toISOString()},${s.device},${s.ward},${s.field},${v}`)),
    ].join('\n') + '\n';

  const changeAlarm = (a: MockAlarm, user: string, action: string, detail: string | null) => {
    audit.get(a.id)!.push({ ts: Date.now(), user, action, detail });
    push({ type: 'alarm', alarm: a });
  };

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const q = url.searchParams;
    if (req.method === 'POST' && path === '/api/auth/login') {
      const body = await readBody(req);
      const user = USERS[body.username as MockRole];
      if (!user || passwords.get(String(body.username)) !== body.password)
        return fail(res, 401, 'bad_credentials', 'wrong username or password');
      return newSession(res, String(body.username), user.role, user.displayName);
    }
    if (req.method === 'POST' && path === '/api/auth/kiosk') {
      const body = await readBody(req);
      if (body.token !== KIOSK_TOKEN) return fail(res, 401, 'bad_token', 'unknown kiosk token');
      return newSession(res, 'kiosk', 'viewer', 'Màn hình tường');
    }
    const s = sessionOf(req);
    if (!s) return fail(res, 401, 'unauthenticated', 'sign in first');
    if (req.method !== 'GET' && req.headers['x-csrf-token'] !== s.csrfToken) return fail(res, 403, 'csrf', 'missing or wrong CSRF token');
    const need = (role: MockRole) => {
      if (RANK[s.role] >= RANK[role]) return true;
      fail(res, 403, 'forbidden', `needs role ${role}`);
      return false;
    };
    if (path === '/api/auth/password' && req.method === 'POST') {
      if (s.username === 'kiosk') return fail(res, 403, 'kiosk', 'a wall screen has no password to change');
      const body = await readBody(req);
      if (passwords.get(s.username) !== body.currentPassword) return fail(res, 400, 'wrong_password', 'the current password is wrong');
      const next = String(body.newPassword ?? '');
      if (next.length < 12 || next.toLowerCase().includes(s.username))
        return fail(res, 400, 'weak_password', 'password must be at least 12 characters');
      passwords.set(s.username, next);
      let ended = 0;
      for (const [sid, rec] of sessions) {
        if (rec.username === s.username && rec !== s) {
          sessions.delete(sid);
          ended++;
        }
      }
      adminAudit.push({ user: s.username, action: 'auth.password_change', detail: { sessionsEnded: ended } });
      return send(res, 200, { sessionsEnded: ended });
    }
    if (path.startsWith('/api/admin/') && !need('admin')) return;
    // Read only: the screens that render the registry (accessibility, roles) need it; editing is tested on the real server.
    if (path === '/api/admin/registry' && req.method === 'GET')
      return send(res, 200, { version: 1, updatedBy: 'system', updatedAt: Date.now() - 7 * 86_400_000, city });
    if (path === '/api/admin/recipients' && req.method === 'GET')
      return send(res, 200, { configured: true, channels: ['zalo', 'sms', 'email'], ...directory });
    if (path === '/api/admin/recipients' && req.method === 'PUT') {
      const body = await readBody(req);
      if (body.baseVersion !== undefined && body.baseVersion !== directory.version)
        return fail(res, 409, 'conflict', `recipients changed meanwhile: now version ${directory.version} by ${directory.updatedBy}`);
      const issues: Array<{ path: string; message: string }> = [];
      const list = (Array.isArray(body.recipients) ? body.recipients : []) as Array<Record<string, unknown>>;
      const recipients = list.map((r, i) => {
        const out = { ...r };
        for (const k of ['phone', 'email', 'zaloUserId']) if (out[k] === '') delete out[k];
        if (typeof out.phone === 'string') {
          const n = normalisePhone(out.phone);
          if (n) out.phone = n;
          else
            issues.push({ path: `recipients.${i}.phone`, message: 'not a Vietnamese phone number (e.g. 0905 123 456 or +84 905 123 456)' });
        }
        return out;
      });
      const ids = new Set(recipients.map((r) => r.id));
      (Array.isArray(body.routes) ? body.routes : directory.routes).forEach((route, ri) =>
        ((route as { steps?: Array<{ to?: string[] }> }).steps ?? []).forEach((st, si) =>
          (st.to ?? []).forEach(
            (to, ti) =>
              !to.startsWith('group:') &&
              !ids.has(to) &&
              issues.push({ path: `routes.${ri}.steps.${si}.to.${ti}`, message: `unknown recipient or group "${to}"` }),
          ),
        ),
      );
      if (issues.length)
        return send(res, 400, { error: 'invalid_recipients', message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues });
      const before = new Map(directory.recipients.map((r) => [r.id, JSON.stringify(r)]));
      directory = {
        version: directory.version + 1,
        updatedBy: s.username,
        updatedAt: Date.now(),
        recipients,
        groups: (body.groups as unknown[]) ?? directory.groups,
        routes: (body.routes as unknown[]) ?? directory.routes,
      };
      adminAudit.push({
        user: s.username,
        action: 'recipients.update',
        detail: {
          version: directory.version,
          changed: recipients.filter((r) => before.get(String(r.id)) !== JSON.stringify(r)).map((r) => r.id),
        },
      });
      return send(res, 200, { configured: true, channels: ['zalo', 'sms', 'email'], ...directory });
    }
    if (path === '/api/auth/me')
      return send(res, 200, { user: { username: s.username, role: s.role, displayName: s.displayName }, csrfToken: s.csrfToken });
    if (path === '/api/auth/logout') return send(res, 204);
    if (path === '/api/city') return send(res, 200, city);
    if (path === '/api/overview') return send(res, 200, overview());
    if (path === '/api/limits') return send(res, 200, limits);
    if (path === '/api/latest') {
      const now = Date.now();
      const kind = q.get('kind');
      const ward = q.get('ward');
      return send(res, 200, {
        readings: city.devices.filter((d) => (!kind || d.kind === kind) && (!ward || d.ward === ward)).map((d) => latestOf(d, now)),
      });
    }
    if (path === '/api/history' || path === '/api/history.csv') {
      const from = Number(q.get('from'));
      const to = Number(q.get('to'));
      const windowMs = q.get('windowMs') ? Number(q.get('windowMs')) : undefined;
      if (!q.get('kind') || !q.get('fields') || !Number.isFinite(from) || !Number.isFinite(to))
        return fail(res, 400, 'bad_query', 'kind, fields, from, to are required');
      const series = history(
        city,
        {
          kind: q.get('kind')!,
          fields: q.get('fields')!.split(','),
          from,
          to,
          windowMs,
          devices: q.get('devices')?.split(',').filter(Boolean),
          ward: q.get('ward') ?? undefined,
        },
        clockStretch,
      );
      if (path.endsWith('.csv')) {
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="history.csv"' });
        return void res.end(csv(series));
      }
      return send(res, 200, { series, ...(windowMs !== undefined ? { windowMs } : {}) });
    }
    if (path === '/api/gateways') return send(res, 200, { gateways: gateways() });
    let m = /^\/api\/gateways\/([^/]+)$/.exec(path);
    if (m) {
      const g = gateways().find((x) => x.id === m![1]);
      return g ? send(res, 200, g) : fail(res, 404, 'not_found', 'no such gateway');
    }
    m = /^\/api\/gateways\/([^/]+)\/commands$/.exec(path);
    if (m && req.method === 'POST') {
      if (!need('technician')) return;
      const body = await readBody(req);
      const id = randomUUID();
      commands.push({ gateway: m[1]!, body });
      const rec = { id, gateway: m[1]!, command: { ...body, id }, sentAt: Date.now(), result: null as unknown };
      commandResults.set(id, rec);
      // As the real server: an offline gateway never answers; the command times out after COMMAND_TIMEOUT_MS.
      if (m[1] !== offlineGateway) setTimeout(() => (rec.result = { id, gateway: m![1]!, ok: true, ts: Date.now() }), 300);
      return send(res, 202, { id, timeoutMs: COMMAND_TIMEOUT_MS });
    }
    m = /^\/api\/commands\/([^/]+)$/.exec(path);
    if (m) {
      if (!need('technician')) return;
      const c = commandResults.get(m[1]!);
      return c
        ? send(res, 200, {
            ...c,
            status: commandStatus(c.result as CommandResult | null, c.sentAt, COMMAND_TIMEOUT_MS, Date.now()),
            timeoutMs: COMMAND_TIMEOUT_MS,
          })
        : fail(res, 404, 'not_found', 'no such command');
    }
    m = /^\/api\/devices\/([^/]+)$/.exec(path);
    if (m) {
      const d = city.devices.find((x) => x.id === decodeURIComponent(m![1]!));
      if (!d) return fail(res, 404, 'not_found', 'no such device');
      const h =
        gateways()
          .find((g) => g.id === d.gateway)
          ?.health?.devices.find((x) => x.device === d.id) ?? null;
      return send(res, 200, { device: d, latest: latestOf(d, Date.now()), health: h });
    }
    if (path === '/api/dead-letters') {
      if (!need('technician')) return;
      const list = deadLetters(Date.now());
      return send(res, 200, { deadLetters: list, total: list.length });
    }
    const matchingAlarms = () => {
      const state = q.get('state');
      const severity = q.get('severity');
      const ward = q.get('ward');
      const states = state?.split(',').flatMap((x) => (x === 'open' ? ['active', 'acknowledged'] : [x]));
      return alarms
        .filter((a) => (!states || states.includes(a.state)) && (!severity || a.severity === severity) && (!ward || a.ward === ward))
        .sort((a, b) => b.lastSeen - a.lastSeen);
    };
    if (path === '/api/alarms') return send(res, 200, { alarms: matchingAlarms() });
    // The desk's lines and the menu badge, shaped as the real server shapes them (protocol's deskRows).
    if (path === '/api/alarms/rows') {
      const list = matchingAlarms()
        .filter((a) => a.id !== q.get('exclude'))
        .map((a) => ({ ...a, groupId: null }));
      const rows = deskRows(list);
      return send(res, 200, { rows: rows.slice(0, Number(q.get('rows') ?? 100)), total: rows.length, alarms: list.length });
    }
    if (path === '/api/alarms/count') {
      const open = alarms.filter((a) => a.state !== 'cleared' && a.parentId === null);
      return send(res, 200, { unacknowledged: open.filter((a) => a.state === 'active').length, open: open.length });
    }
    if (path === '/api/alarms/assignees')
      return send(res, 200, {
        users: [...accounts.values()]
          .filter((u) => u.role !== 'viewer')
          .map(({ username, displayName, role }) => ({ username, displayName, role })),
      });
    if (path === '/api/alarms/shelves') return send(res, 200, { shelves: [] });
    m = /^\/api\/alarms\/([^/]+)(?:\/(ack|assign|comment|clear))?$/.exec(path);
    if (m) {
      const a = alarms.find((x) => x.id === m![1]);
      if (!a) return fail(res, 404, 'not_found', 'no such alarm');
      if (!m[2]) {
        return send(res, 200, {
          alarm: a,
          audit: audit.get(a.id) ?? [],
          notifications: [
            {
              id: `${a.id}-n1`,
              recipient: 'Trực ban IOC (+84 905 000 111)',
              channel: 'sms',
              state: 'delivered',
              ts: a.firstSeen + 4000,
              error: null,
            },
            {
              id: `${a.id}-n2`,
              recipient: 'Nhóm Zalo Môi trường',
              channel: 'zalo',
              state: a.severity === 'critical' ? 'failed' : 'sent',
              ts: a.firstSeen + 5000,
              error: a.severity === 'critical' ? 'Zalo OA: token expired' : null,
            },
          ],
        });
      }
      if (req.method !== 'POST') return fail(res, 405, 'method', 'POST only');
      if (!need('operator')) return;
      const body = await readBody(req);
      const now = Date.now();
      if (m[2] === 'ack') {
        if (a.state !== 'active') return fail(res, 409, 'state', 'only active alarms can be acknowledged');
        Object.assign(a, { state: 'acknowledged', acknowledgedBy: s.username, acknowledgedAt: now });
      } else if (m[2] === 'assign') Object.assign(a, { assignee: String(body.assignee ?? '') || null });
      else if (m[2] === 'clear') Object.assign(a, { state: 'cleared', clearedBy: s.username, clearedAt: now });
      changeAlarm(a, s.username, m[2], (body.comment ?? body.text ?? body.assignee ?? null) as string | null);
      return send(res, 200, { alarm: a });
    }
    if (
      path === '/api/users' ||
      path.startsWith('/api/users/') ||
      path === '/api/rules/validate' ||
      (path === '/api/rules' && req.method !== 'GET')
    ) {
      if (!need('admin')) return;
    }
    if (path === '/api/users' && req.method === 'GET')
      return send(res, 200, { users: [...accounts.values()].map(({ password: _p, ...u }) => u) });
    if (path === '/api/users' && req.method === 'POST') {
      const body = await readBody(req);
      const username = String(body.username ?? '');
      if (!isValidName(username) || !body.displayName || !(String(body.role) in RANK)) return fail(res, 400, 'bad_request', 'invalid body');
      if (String(body.password ?? '').length < 12) return fail(res, 400, 'weak_password', 'password must be at least 12 characters');
      if (accounts.has(username)) return fail(res, 409, 'exists', `user ${username} already exists`);
      const user = {
        username,
        displayName: String(body.displayName),
        role: body.role as MockRole,
        disabled: false,
        createdAt: Date.now(),
        lastLogin: null,
        password: String(body.password),
      };
      accounts.set(username, user);
      adminAudit.push({ user: s.username, action: 'user.create', detail: { username, role: user.role } });
      const { password: _p, ...view } = user;
      return send(res, 201, { user: view });
    }
    m = /^\/api\/users\/([^/]+)$/.exec(path);
    if (m && req.method === 'PATCH') {
      const username = decodeURIComponent(m[1]!);
      const user = accounts.get(username);
      if (!user) return fail(res, 404, 'not_found', `user ${username} not found`);
      const body = await readBody(req);
      const losesAdmin = user.role === 'admin' && ((body.role !== undefined && body.role !== 'admin') || body.disabled === true);
      if (losesAdmin && username === s.username) return fail(res, 409, 'self_lockout', 'you cannot disable or demote yourself');
      if (body.password !== undefined && String(body.password).length < 12)
        return fail(res, 400, 'weak_password', 'password must be at least 12 characters');
      if (typeof body.role === 'string' && body.role in RANK) user.role = body.role as MockRole;
      if (typeof body.disabled === 'boolean') user.disabled = body.disabled;
      if (typeof body.displayName === 'string') user.displayName = body.displayName;
      if (typeof body.password === 'string') user.password = body.password;
      adminAudit.push({ user: s.username, action: 'user.update', detail: { username, fields: Object.keys(body) } });
      const { password: _p, ...view } = user;
      return send(res, 200, { user: view, sessionsEnded: 0 });
    }
    if (path === '/api/rules' && req.method === 'GET') return send(res, 200, rules);
    if (path === '/api/rules/validate' && req.method === 'POST') {
      const body = await readBody(req);
      const problem = ruleProblem(body.rules);
      return problem ? fail(res, 400, 'invalid_rules', problem) : send(res, 200, { ok: true, count: (body.rules as unknown[]).length });
    }
    if (path === '/api/rules' && req.method === 'PUT') {
      const body = await readBody(req);
      const problem = ruleProblem(body.rules);
      if (problem) return fail(res, 400, 'invalid_rules', problem);
      if (body.baseVersion !== undefined && body.baseVersion !== rules.version)
        return fail(res, 409, 'conflict', `rules changed meanwhile: now version ${rules.version}`);
      rules = { version: rules.version + 1, rules: body.rules as unknown[], updatedBy: s.username, updatedAt: Date.now() };
      return send(res, 200, rules);
    }
    return fail(res, 404, 'not_found', `no route ${req.method} ${path}`);
  }

  /** Like the real server (dashboard/server/src/http/boot-answers.ts): a signed-in page comes with its first answers. */
  const bootAnswers = (req: IncomingMessage, path: string): Record<string, unknown> | null => {
    const s = sessionOf(req);
    if (!s) return null;
    const all: Record<string, () => unknown> = {
      '/api/auth/me': () => ({ user: { username: s.username, role: s.role, displayName: s.displayName }, csrfToken: s.csrfToken }),
      '/api/city': () => city,
      '/api/overview': overview,
      '/api/limits': () => limits,
    };
    return Object.fromEntries(bootUrlsFor(path).map((url) => [url, all[url]!()]));
  };

  const manifestFile = join(opts.distDir, '.vite/manifest.json');
  let manifest: ViteManifest | null = null;

  function serveStatic(req: IncomingMessage, res: ServerResponse, path: string): void {
    const file = normalize(join(opts.distDir, path));
    const inDist = file.startsWith(normalize(opts.distDir));
    const index = join(opts.distDir, 'index.html');
    const target = inDist && existsSync(file) && statSync(file).isFile() ? file : index;
    if (!existsSync(target)) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return void res.end('dist/ is not built: npm run build -w dashboard/web');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream' });
    if (target !== index) return void res.end(readFileSync(target));
    // Like the real server: the first answers for a signed-in browser, and the view's code named in the head.
    const answers = bootAnswers(req, path);
    manifest ??= existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as ViteManifest) : {};
    res.end(withBootData(readFileSync(target, 'utf8'), answers ? { answers } : null, viewPreloadTags(manifest, path)));
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((err: Error) => fail(res, 500, 'internal', err.message));
      return;
    }
    serveStatic(req, res, url.pathname);
  });

  const wss = new WebSocketServer({ noServer: true });
  const subs = new Map<WebSocket, Set<string>>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const authed = sessionOf(req) !== null || url.searchParams.get('kiosk') === KIOSK_TOKEN;
    if (url.pathname !== '/ws' || !authed || refuse) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      subs.set(ws, new Set());
      ws.send(JSON.stringify({ type: 'hello', serverTime: Date.now() }));
      ws.on('message', (data) => {
        try {
          const msg = JSON.parse(String(data)) as { type?: string; channels?: string[] };
          if (msg.type === 'subscribe' && Array.isArray(msg.channels)) {
            const before = subs.get(ws) ?? new Set<string>();
            subs.set(ws, new Set(msg.channels));
            // Like the real server: a new subscriber to readings gets the latest ones at once (here the pushed ones).
            if (msg.channels.includes('readings') && !before.has('readings') && overrides.size > 0)
              ws.send(JSON.stringify({ type: 'readings', readings: [...overrides.values()] }));
          }
        } catch {
          // bad frames are ignored, like the real server
        }
      });
      ws.on('close', () => subs.delete(ws));
    });
  });

  const CHANNEL: Record<string, string> = {
    readings: 'readings',
    derived: 'derived',
    alarm: 'alarms',
    gateway: 'gateways',
  };
  function push(frame: Record<string, unknown>): void {
    const channel = CHANNEL[String(frame.type)];
    if (frame.type === 'readings') for (const r of frame.readings as StoredReading[]) overrides.set(r.device, r);
    const text = JSON.stringify(frame);
    for (const [ws, channels] of subs) if (!channel || channels.has(channel)) ws.send(text);
  }

  const tick = setInterval(() => {
    if (!readingsRunning) return;
    const now = Date.now();
    // Each tick publishes one reading per kind (rotating device), like ingest flushing small batches.
    const byKind = new Map<string, CityModel['devices']>();
    for (const d of city.devices) byKind.set(d.kind, [...(byKind.get(d.kind) ?? []), d]);
    const readings: StoredReading[] = [];
    for (const list of byKind.values()) {
      const d = list[seq % list.length]!;
      // Devices a test pushed a value for keep that value (the test asserts on it); a silenced ward sends nothing.
      if (overrides.has(d.id) || d.ward === silenced?.ward) continue;
      readings.push(readingAt(d, now, seq));
    }
    seq++;
    const text = JSON.stringify({ type: 'readings', readings });
    for (const [ws, channels] of subs) if (channels.has('readings')) ws.send(text);
    const air = readings.find((r) => r.kind === 'air_station');
    if (air) {
      const derived = JSON.stringify({
        type: 'derived',
        readings: [
          {
            ...air,
            kind: 'vn_aqi',
            values: {
              aqi: aqiFromPm25(
                valuesAt(
                  city.devices.find((d) => d.id === air.device)!,
                  now,
                ).pm25 ?? 0,
              ),
            },
          },
        ],
      });
      for (const [ws, channels] of subs) if (channels.has('derived')) ws.send(derived);
    }
  }, opts.tickMs ?? 1000);
  const ping = setInterval(() => {
    const text = JSON.stringify({ type: 'ping', serverTime: Date.now() });
    for (const ws of subs.keys()) ws.send(text);
  }, opts.pingMs ?? 10_000);

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    city,
    alarms,
    commands,
    adminAudit,
    bumpRules: () => (rules = { ...rules, version: rules.version + 1, updatedBy: 'admin2', updatedAt: Date.now() }),
    bumpRecipients: () => (directory = { ...directory, version: directory.version + 1, updatedBy: 'admin2', updatedAt: Date.now() }),
    recipients: () => ({ version: directory.version, recipients: directory.recipients }),
    silenceWard: (ward, sinceMs = 10 * 60_000) => (silenced = ward ? { ward, at: Date.now() - sinceMs } : null),
    passwordOf: (user) => passwords.get(user)!,
    push,
    setReadingsRunning: (on) => (readingsRunning = on),
    cutFeed(r) {
      refuse = r;
      for (const ws of subs.keys()) ws.terminate();
      subs.clear();
    },
    sockets: () => subs.size,
    subscribers: (channel) => [...subs.values()].filter((channels) => channels.has(channel)).length,
    async close() {
      clearInterval(tick);
      clearInterval(ping);
      for (const ws of subs.keys()) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
