import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { cityModelSchema, topics, type AlarmEvent, type CityModel } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { CORE_MIGRATIONS, migrate, openStateDb } from '../../src/state-db';
import type { ModuleContext } from '../../src/module';
import { createAlarmsModule, type AlarmsModuleConfig } from '../../src/alarms';
import { mountRoutes } from '../../src/http/route-table';
import { errorHandler } from '../../src/http/errors';

const RANK = { viewer: 0, operator: 1, technician: 2, admin: 3 } as const;

export const testCity: CityModel = cityModelSchema.parse({
  id: 'test',
  name: 'Tam Kỳ',
  timeZone: 'Asia/Ho_Chi_Minh',
  lat: 15.5736,
  lon: 108.474,
  wards: [
    { id: 'an-phu', name: 'An Phú', type: 'phuong', lat: 15.55, lon: 108.5, map: { x: 1, y: 1 } },
    { id: 'an-my', name: 'An Mỹ', type: 'phuong', lat: 15.57, lon: 108.48, map: { x: 2, y: 2 } },
  ],
  gateways: [{ id: 'gw-an-phu', ward: 'an-phu', name: 'GW An Phú' }],
  devices: [
    {
      id: 'an-phu-water-1',
      kind: 'water_level',
      name: 'Đo mực nước An Phú',
      ward: 'an-phu',
      gateway: 'gw-an-phu',
      lat: 15.55,
      lon: 108.5,
      alarmLevels: [2, 3, 4],
    },
  ],
});

/**
 * The alarms module mounted on a real Express server with a stand-in for the dashboard's context:
 * the role guard reads `x-user`/`x-role` headers, the clock is controllable, broadcasts and audits are recorded.
 */
export async function startAlarmsContext(opts: { dbFile: string; config?: AlarmsModuleConfig; startAt?: number; publicUrl?: string }) {
  const db = openStateDb(opts.dbFile);
  migrate(db, CORE_MIGRATIONS); // the core's tables (rules) as the real server has them
  const clock = { t: opts.startAt ?? Date.UTC(2026, 10, 26, 3, 0, 0) };
  const broadcasts: Array<{ channel: string; message: any }> = [];
  const audits: Array<{ user: string; action: string; detail: Record<string, unknown> }> = [];
  const published: Array<{ topic: string; payload: unknown }> = [];
  const users = [
    { username: 'op1', displayName: 'Operator One', role: 'operator' as const },
    { username: 'tech1', displayName: 'Technician One', role: 'technician' as const },
    { username: 'v', displayName: 'Viewer', role: 'viewer' as const },
  ];
  const ctx: ModuleContext = {
    db,
    city: testCity,
    requireRole: (role) => (req, res, next) => {
      const user = req.get('x-user');
      const have = req.get('x-role') as keyof typeof RANK | undefined;
      if (!user || !have) return void res.status(401).json({ error: 'unauthenticated', message: 'log in first' });
      if (RANK[have] < RANK[role]) return void res.status(403).json({ error: 'forbidden', message: `needs role ${role}` });
      // `x-wards`: a ward-limited account (comma-separated ward ids).
      const wards = req.get('x-wards')?.split(',');
      res.locals.session = { user: { username: user, role: have, ...(wards ? { wards } : {}) } };
      next();
    },
    audit: (user, action, detail) => audits.push({ user, action, detail }),
    broadcast: (channel, message) => broadcasts.push({ channel, message }),
    mqttPublish: async (topic, payload) => void published.push({ topic, payload }),
    logger: createLogger('alarms-test', { level: 'silent' }),
    now: () => clock.t,
    publicUrl: opts.publicUrl ?? 'http://ioc.test',
    users: () => users,
  };
  const module = createAlarmsModule({ tickMs: 3_600_000, ...opts.config });
  const app = express();
  app.use(express.json());
  const router = express.Router();
  mountRoutes(router, (access) => ctx.requireRole(access === 'any' ? 'viewer' : access), module.routes!(ctx));
  app.use('/api', router);
  app.use(errorHandler(ctx.logger));
  await module.start!(ctx);
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function api(
    method: string,
    path: string,
    body?: unknown,
    who: { user: string; role: string; wards?: string[] } = { user: 'op1', role: 'operator' },
  ) {
    const res = await fetch(`${url}/api${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        'x-user': who.user,
        'x-role': who.role,
        ...(who.wards ? { 'x-wards': who.wards.join(',') } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  return {
    url,
    ctx,
    db,
    clock,
    module,
    broadcasts,
    audits,
    published,
    api,
    /** Delivers an alarm event as the MQTT link would. */
    event: (e: AlarmEvent) => module.onMqttMessage!(topics.alarmEvent(e.ruleId, e.sourceId), Buffer.from(JSON.stringify(e))),
    /** Dies without any shutdown: no module close, in-flight sends abandoned, the DB handle dropped. */
    async crash() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      db.close();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await module.close!();
      db.close();
    },
  };
}
export type AlarmsContext = Awaited<ReturnType<typeof startAlarmsContext>>;

export function waterEvent(over: Partial<AlarmEvent> = {}): AlarmEvent {
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
    value: 3.2,
    limit: 3,
    unit: 'm',
    since: Date.UTC(2026, 10, 26, 2, 59, 0),
    ts: Date.UTC(2026, 10, 26, 3, 0, 0),
    message: {
      vi: 'Đo mực nước An Phú (An Phú): mực nước 3.2 m — BÁO ĐỘNG 2 (mức báo động 3 m)',
      en: 'Đo mực nước An Phú (An Phú): water level 3.2 m — ALARM LEVEL 2 (alarm level 3 m)',
    },
    ...over,
  };
}
