import type Database from 'better-sqlite3';
import {
  gatewayEventSchema,
  gatewayHealthSchema,
  gatewayStatusSchema,
  type CityModel,
  type DeviceHealth,
  type GatewayEvent,
  type GatewayHealth,
  type GatewayStatus,
} from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';

export interface GatewayView {
  id: string;
  ward: string;
  name: string;
  state: 'online' | 'offline' | 'unknown';
  lastSeen: number | null;
  health: GatewayHealth | null;
  /** Why it went offline (`lwt` = connection lost) or the version it announced; from the retained status. */
  reason?: string;
  version?: string;
  /** protocol gatewayInfoSchema `clockOffsetMs`. */
  clockOffsetMs?: number;
}

interface Entry {
  state: 'online' | 'offline' | 'unknown';
  lastSeen: number | null;
  status: GatewayStatus | null;
  health: GatewayHealth | null;
  /** Measured on arrival of the last health report (in memory: the next report measures it again). */
  clockOffsetMs?: number;
}

/**
 * Gateway state from the retained status topic (its last will says offline), health reports and any
 * other message it sends. Kept in memory and written through to the state DB, so the gateway list is
 * right immediately after a dashboard restart, before the broker has redelivered anything.
 */
export function createGatewayTracker(
  db: Database.Database,
  city: CityModel,
  now: () => number,
  logger: Logger,
  onChange: (view: GatewayView) => void,
) {
  const upsert = db.prepare(
    `INSERT INTO gateways (id, state, last_seen, status, health, updated_at) VALUES (@id, @state, @lastSeen, @status, @health, @updatedAt)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, last_seen = excluded.last_seen, status = excluded.status, health = excluded.health, updated_at = excluded.updated_at`,
  );
  const insertEvent = db.prepare('INSERT OR IGNORE INTO gateway_events (gateway, device, ts, seq, type, detail) VALUES (?, ?, ?, ?, ?, ?)');
  const recentEvents = db.prepare(
    'SELECT gateway, device, ts, seq, type, detail FROM gateway_events WHERE gateway = ? ORDER BY ts DESC, id DESC LIMIT ?',
  );
  const entries = new Map<string, Entry>();
  for (const row of db.prepare('SELECT id, state, last_seen, status, health FROM gateways').all() as Array<{
    id: string;
    state: Entry['state'];
    last_seen: number | null;
    status: string | null;
    health: string | null;
  }>) {
    entries.set(row.id, {
      state: row.state,
      lastSeen: row.last_seen,
      status: row.status ? JSON.parse(row.status) : null,
      health: row.health ? JSON.parse(row.health) : null,
    });
  }
  let registered = new Map(city.gateways.map((g) => [g.id, g]));

  const entryOf = (id: string): Entry => {
    let e = entries.get(id);
    if (!e) {
      e = { state: 'unknown', lastSeen: null, status: null, health: null };
      entries.set(id, e);
    }
    return e;
  };

  const view = (id: string): GatewayView => {
    const g = registered.get(id);
    const e = entries.get(id);
    const v: GatewayView = {
      id,
      ward: g?.ward ?? '',
      name: g?.name ?? id,
      state: e?.state ?? 'unknown',
      lastSeen: e?.lastSeen ?? null,
      health: e?.health ?? null,
    };
    if (e?.status?.reason) v.reason = e.status.reason;
    if (e?.status?.version) v.version = e.status.version;
    if (e?.clockOffsetMs !== undefined) v.clockOffsetMs = e.clockOffsetMs;
    return v;
  };

  const save = (id: string, e: Entry) => {
    upsert.run({
      id,
      state: e.state,
      lastSeen: e.lastSeen,
      status: e.status && JSON.stringify(e.status),
      health: e.health && JSON.stringify(e.health),
      updatedAt: now(),
    });
    onChange(view(id));
  };

  const parseJson = (payload: Buffer): unknown => {
    try {
      return JSON.parse(payload.toString('utf8'));
    } catch {
      return undefined;
    }
  };

  return {
    /** Returns false for a payload that does not match its schema (counted and logged by the caller). */
    onStatus(gatewayId: string, payload: Buffer): boolean {
      if (payload.length === 0) return true; // retained status cleared: nothing to learn
      const parsed = gatewayStatusSchema.safeParse(parseJson(payload));
      if (!parsed.success || parsed.data.gateway !== gatewayId) return false;
      const e = entryOf(gatewayId);
      // A retained status older than what we already know (e.g. redelivered after a restart) must not undo newer news.
      if (e.status && parsed.data.ts < e.status.ts) return true;
      e.status = parsed.data;
      e.state = parsed.data.state;
      if (parsed.data.state === 'online') e.lastSeen = Math.max(e.lastSeen ?? 0, now());
      save(gatewayId, e);
      return true;
    },
    onHealth(gatewayId: string, payload: Buffer): boolean {
      const parsed = gatewayHealthSchema.safeParse(parseJson(payload));
      if (!parsed.success || parsed.data.gateway !== gatewayId) return false;
      const e = entryOf(gatewayId);
      if (e.health && parsed.data.ts < e.health.ts) return true;
      e.health = parsed.data;
      e.lastSeen = now();
      e.clockOffsetMs = parsed.data.ts - e.lastSeen;
      // A health report proves the gateway is connected even if its online status was missed.
      if (e.state !== 'online') e.state = 'online';
      save(gatewayId, e);
      return true;
    },
    onEvent(gatewayId: string, payload: Buffer): GatewayEvent | null {
      const parsed = gatewayEventSchema.safeParse(parseJson(payload));
      if (!parsed.success || parsed.data.gateway !== gatewayId) return null;
      const ev = parsed.data;
      insertEvent.run(gatewayId, ev.device ?? null, ev.ts, ev.seq, ev.type, ev.detail ? JSON.stringify(ev.detail) : null);
      this.seen(gatewayId);
      return ev;
    },
    /** Any message from the gateway refreshes lastSeen (in memory; persisted with the next status/health). */
    seen(gatewayId: string): void {
      const e = entryOf(gatewayId);
      e.lastSeen = now();
    },
    list(): GatewayView[] {
      const ids = new Set([...registered.keys(), ...entries.keys()]);
      return [...ids].sort().map(view);
    },
    get(id: string): GatewayView | null {
      return registered.has(id) || entries.has(id) ? view(id) : null;
    },
    events(id: string, limit = 50): GatewayEvent[] {
      return (
        recentEvents.all(id, limit) as Array<{
          gateway: string;
          device: string | null;
          ts: number;
          seq: number;
          type: string;
          detail: string | null;
        }>
      ).map((r) => ({
        gateway: r.gateway,
        ...(r.device ? { device: r.device } : {}),
        ts: r.ts,
        seq: r.seq,
        type: r.type,
        ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
      }));
    },
    /** A new registry version: names and wards of gateways come from it from now on. */
    setCity(next: CityModel): void {
      registered = new Map(next.gateways.map((g) => [g.id, g]));
    },
    deviceHealth(gatewayId: string, deviceId: string): DeviceHealth | null {
      return entries.get(gatewayId)?.health?.devices.find((d) => d.device === deviceId) ?? null;
    },
    logger,
  };
}
export type GatewayTracker = ReturnType<typeof createGatewayTracker>;
