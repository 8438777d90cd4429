import type Database from 'better-sqlite3';
import { SEVERITIES, type AlarmEvent, type Severity } from '@tamky/protocol';
import type { RuleRole } from './rule-kinds';
import type { Shelves } from './shelves';
import type { Alarm, AlarmAuditEntry, AlarmChange, AlarmState } from './model';

export const ALARM_MIGRATIONS = [
  {
    name: 'alarms/001-init',
    sql: `
      CREATE TABLE alarms (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        state TEXT NOT NULL,
        severity TEXT NOT NULL,
        category TEXT NOT NULL,
        ward TEXT, kind TEXT, device TEXT, gateway TEXT, field TEXT,
        value REAL, limit_value REAL, unit TEXT,
        message_vi TEXT NOT NULL,
        message_en TEXT NOT NULL,
        since INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        assignee TEXT,
        acknowledged_by TEXT, acknowledged_at INTEGER,
        cleared_at INTEGER, cleared_by TEXT,
        opened_at INTEGER NOT NULL
      );
      -- The heart of deduplication: at most one open alarm per (rule, source).
      CREATE UNIQUE INDEX alarms_open ON alarms (rule_id, source_id) WHERE state != 'cleared';
      CREATE INDEX alarms_recent ON alarms (state, id);
      CREATE TABLE alarm_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alarm_id INTEGER NOT NULL REFERENCES alarms (id),
        ts INTEGER NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX alarm_audit_alarm ON alarm_audit (alarm_id, id);
    `,
  },
  {
    name: 'alarms/002-correlation-reopen-shelves',
    sql: `
      -- The gateway alarm that explains this one (a silent device behind a silent gateway): shown as its child, not notified.
      ALTER TABLE alarms ADD COLUMN parent_id INTEGER REFERENCES alarms (id);
      -- The first alarm of a burst of one rule: members show as one group with a count.
      ALTER TABLE alarms ADD COLUMN group_id INTEGER REFERENCES alarms (id);
      -- How often the condition came back within the reopen window (flaps).
      ALTER TABLE alarms ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;
      -- The maintenance shelf that silenced its notifications (still recorded).
      ALTER TABLE alarms ADD COLUMN shelf_id INTEGER;
      CREATE INDEX alarms_rule_source ON alarms (rule_id, source_id, id);
      CREATE INDEX alarms_gateway ON alarms (gateway, state);
      CREATE INDEX alarm_audit_ts ON alarm_audit (ts);
      CREATE TABLE alarm_shelves (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        user TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        until INTEGER NOT NULL,
        ended_at INTEGER,
        ended_by TEXT
      );
    `,
  },
];

interface Row {
  id: number;
  rule_id: string;
  source_id: string;
  state: AlarmState;
  severity: Alarm['severity'];
  category: string;
  ward: string | null;
  kind: string | null;
  device: string | null;
  gateway: string | null;
  field: string | null;
  value: number | null;
  limit_value: number | null;
  unit: string | null;
  message_vi: string;
  message_en: string;
  since: number;
  first_seen: number;
  last_seen: number;
  count: number;
  assignee: string | null;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  cleared_at: number | null;
  cleared_by: string | null;
  opened_at: number;
  parent_id: number | null;
  group_id: number | null;
  reopen_count: number;
  shelf_id: number | null;
}

const toAlarm = (r: Row): Alarm => ({
  id: r.id,
  ruleId: r.rule_id,
  sourceId: r.source_id,
  state: r.state,
  severity: r.severity,
  category: r.category,
  ward: r.ward,
  kind: r.kind,
  device: r.device,
  gateway: r.gateway,
  field: r.field,
  value: r.value,
  limit: r.limit_value,
  unit: r.unit,
  message: { vi: r.message_vi, en: r.message_en },
  since: r.since,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  count: r.count,
  assignee: r.assignee,
  acknowledgedBy: r.acknowledged_by,
  acknowledgedAt: r.acknowledged_at,
  clearedAt: r.cleared_at,
  clearedBy: r.cleared_by,
  openedAt: r.opened_at,
  parentId: r.parent_id,
  groupId: r.group_id,
  reopenCount: r.reopen_count,
  shelfId: r.shelf_id,
});

/** One alarm as stored, for readers outside the lifecycle (the notifier). */
export function readAlarm(db: Database.Database, id: number): Alarm | undefined {
  const row = db.prepare('SELECT * FROM alarms WHERE id = ?').get(id) as Row | undefined;
  return row ? toAlarm(row) : undefined;
}

export class AlarmConflict extends Error {}

export interface ListFilter {
  states?: AlarmState[];
  severities?: string[];
  ward?: string;
  /** Device kind (water_level, pm_sensor, …). */
  kind?: string;
  /** A username, or null for unassigned alarms. */
  assignee?: string | null;
  /** Words found in the message (either language), rule, source or device id. */
  text?: string;
  /** Opened at or after / before (epoch ms). */
  from?: number;
  to?: number;
  /** At most 5000 unless 'all' (the desk's rows are grouped over every match). */
  limit?: number | 'all';
  beforeId?: number;
}

export interface LifecycleOptions {
  /** A condition that returns this soon after its alarm was cleared reopens that alarm (0: never). */
  reopenWindowMs?: number;
  /** New alarms of one rule this close to the previous one join its group (0: no grouping). */
  burstWindowMs?: number;
  /** Which rules watch device / gateway silence (correlation). */
  ruleRole?: (ruleId: string) => RuleRole;
  shelves?: Shelves;
}

/** What a detector event did: the alarm, the change, whether to notify, and alarms correlation moved. */
export interface EventOutcome {
  alarm: Alarm;
  change: AlarmChange;
  severityChanged: boolean;
  /** False for alarms explained by their gateway's alarm and shelved ones. */
  notify: boolean;
  /** Open device alarms just attached under this gateway alarm (stop notifying them). */
  adopted: Alarm[];
  /** Device alarms set free when their gateway alarm cleared while they stay open (notify them now). */
  released: Alarm[];
}

const RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;

/**
 * Alarm lifecycle in the state DB. Every change runs in one transaction with its audit row, so the
 * trail and the alarm never disagree, and a restart resumes from exactly what was committed.
 */
export function createAlarmStore(db: Database.Database, now: () => number, opts: LifecycleOptions = {}) {
  const reopenWindowMs = opts.reopenWindowMs ?? 0;
  const burstWindowMs = opts.burstWindowMs ?? 0;
  const ruleRole = opts.ruleRole ?? (() => 'other' as const);
  const q = {
    open: db.prepare<[string, string], Row>("SELECT * FROM alarms WHERE rule_id = ? AND source_id = ? AND state != 'cleared'"),
    recentlyCleared: db.prepare<[string, string, number], Row>(
      "SELECT * FROM alarms WHERE rule_id = ? AND source_id = ? AND state = 'cleared' AND cleared_at >= ? ORDER BY id DESC LIMIT 1",
    ),
    byId: db.prepare<[number], Row>('SELECT * FROM alarms WHERE id = ?'),
    insert:
      db.prepare(`INSERT INTO alarms (rule_id, source_id, state, severity, category, ward, kind, device, gateway, field, value, limit_value, unit,
      message_vi, message_en, since, first_seen, last_seen, count, opened_at, parent_id, group_id, shelf_id)
      VALUES (@ruleId, @sourceId, 'active', @severity, @category, @ward, @kind, @device, @gateway, @field, @value, @limit, @unit,
      @vi, @en, @since, @ts, @ts, 1, @now, @parentId, @groupId, @shelfId)`),
    repeat: db.prepare(`UPDATE alarms SET severity = @severity, value = @value, limit_value = @limit, message_vi = @vi, message_en = @en,
      last_seen = @ts, count = count + 1 WHERE id = @id`),
    reopen:
      db.prepare(`UPDATE alarms SET state = @state, severity = @severity, value = @value, limit_value = @limit, message_vi = @vi, message_en = @en,
      last_seen = @ts, count = count + 1, reopen_count = reopen_count + 1, cleared_at = NULL, cleared_by = NULL, shelf_id = @shelfId WHERE id = @id`),
    audit: db.prepare('INSERT INTO alarm_audit (alarm_id, ts, user, action, detail) VALUES (?, ?, ?, ?, ?)'),
    trail: db.prepare<[number], { ts: number; user: string; action: string; detail: string }>(
      'SELECT ts, user, action, detail FROM alarm_audit WHERE alarm_id = ? ORDER BY id',
    ),
    countsByWard: db.prepare<[string], { severity: string; n: number }>(
      "SELECT severity, COUNT(*) AS n FROM alarms WHERE ward = ? AND state != 'cleared' AND parent_id IS NULL GROUP BY severity",
    ),
    openOfGateway: db.prepare<[string], Row>("SELECT * FROM alarms WHERE gateway = ? AND state != 'cleared' ORDER BY id"),
    burstPeer: db.prepare<[string, string, number], Row>(
      "SELECT * FROM alarms WHERE rule_id = ? AND source_id != ? AND state != 'cleared' AND parent_id IS NULL AND opened_at >= ? ORDER BY id DESC LIMIT 1",
    ),
    setParent: db.prepare('UPDATE alarms SET parent_id = ? WHERE id = ?'),
    setShelf: db.prepare('UPDATE alarms SET shelf_id = ? WHERE id = ?'),
  };

  const get = (id: number): Alarm | undefined => {
    const r = q.byId.get(id);
    return r ? toAlarm(r) : undefined;
  };
  const audit = (id: number, user: string, action: string, detail: Record<string, unknown>) =>
    q.audit.run(id, now(), user, action, JSON.stringify(detail));

  /** The open gateway-silence alarm of `gateway`, if one explains its devices' silence now. */
  const gatewayAlarmOf = (gateway: string | undefined): Row | undefined =>
    gateway
      ? q.openOfGateway.all(gateway).find((r) => r.device === null && r.parent_id === null && ruleRole(r.rule_id) === 'gateway-silence')
      : undefined;

  /** Folds a detector event into the lifecycle; undefined when it changes nothing (duplicate, stale, unknown clear). */
  const applyEvent = db.transaction((e: AlarmEvent): EventOutcome | undefined => {
    const open = q.open.get(e.ruleId, e.sourceId);
    const role = ruleRole(e.ruleId);
    if (e.state === 'cleared') {
      // A clear older than the alarm's last sighting is a redelivery out of order; one for no open alarm is a reconciliation.
      if (!open || e.ts < open.last_seen) return undefined;
      db.prepare("UPDATE alarms SET state = 'cleared', cleared_at = ?, cleared_by = 'system', value = COALESCE(?, value) WHERE id = ?").run(
        e.ts,
        e.value,
        open.id,
      );
      audit(open.id, 'system', 'cleared', { reason: 'condition cleared', value: e.value, ts: e.ts });
      // The gateway is back: devices still silent are problems of their own now.
      const released: Alarm[] = [];
      if (role === 'gateway-silence') {
        for (const child of q.openOfGateway.all(open.gateway ?? '')) {
          if (child.parent_id !== open.id) continue;
          q.setParent.run(null, child.id);
          audit(child.id, 'system', 'uncorrelated', { gatewayAlarm: open.id });
          released.push(get(child.id)!);
        }
      }
      return { alarm: get(open.id)!, change: 'cleared', severityChanged: false, notify: true, adopted: [], released };
    }
    const params = {
      severity: e.severity,
      value: e.value,
      limit: e.limit,
      vi: e.message.vi,
      en: e.message.en,
      ts: e.ts,
    };
    if (open) {
      if (e.ts <= open.last_seen) return undefined; // QoS 1 redelivery or a replay: already counted
      q.repeat.run({ ...params, id: open.id });
      const severityChanged = open.severity !== e.severity;
      if (severityChanged) audit(open.id, 'system', 'severity', { from: open.severity, to: e.severity, value: e.value });
      return {
        alarm: get(open.id)!,
        change: 'updated',
        severityChanged,
        notify: open.parent_id === null && open.shelf_id === null,
        adopted: [],
        released: [],
      };
    }
    const shelf = opts.shelves?.covering({ device: e.device ?? null, gateway: e.gateway ?? null, ward: e.ward ?? null });
    const shelfId = shelf?.id ?? null;
    const adopted = role === 'gateway-silence' && !e.device ? adoptChildren : () => [];

    const cleared = reopenWindowMs > 0 ? q.recentlyCleared.get(e.ruleId, e.sourceId, e.ts - reopenWindowMs) : undefined;
    if (cleared) {
      // The same problem came back: keep its acknowledgement, assignee and trail, count the flap. A worse
      // severity than the one acknowledged asks for a new acknowledgement.
      const keepAck = cleared.acknowledged_at !== null && RANK[e.severity] >= RANK[cleared.severity];
      q.reopen.run({ ...params, id: cleared.id, state: keepAck ? 'acknowledged' : 'active', shelfId });
      audit(cleared.id, 'system', 'reopened', {
        value: e.value,
        limit: e.limit,
        severity: e.severity,
        flaps: cleared.reopen_count + 1,
        ...(shelf ? { shelf: shelf.id } : {}),
      });
      const alarm = get(cleared.id)!;
      return {
        alarm,
        change: 'reopened',
        severityChanged: false,
        notify: !keepAck && alarm.parentId === null && shelfId === null,
        adopted: adopted(alarm.id, e.gateway!),
        released: [],
      };
    }

    const parent = role === 'device-silence' ? gatewayAlarmOf(e.gateway) : undefined;
    const peer = !parent && burstWindowMs > 0 ? q.burstPeer.get(e.ruleId, e.sourceId, now() - burstWindowMs) : undefined;
    const groupId = peer ? (peer.group_id ?? peer.id) : null;
    const info = q.insert.run({
      ...params,
      ruleId: e.ruleId,
      sourceId: e.sourceId,
      category: e.category,
      ward: e.ward ?? null,
      kind: e.kind ?? null,
      device: e.device ?? null,
      gateway: e.gateway ?? null,
      field: e.field ?? null,
      unit: e.unit ?? null,
      since: e.since,
      now: now(),
      parentId: parent?.id ?? null,
      groupId,
      shelfId,
    });
    const id = Number(info.lastInsertRowid);
    // `correlated` says why this raise was not annunciated on its own (alarm-system health counts the rest).
    const correlated = parent ? 'gateway' : shelf ? 'shelved' : groupId !== null ? 'group' : undefined;
    audit(id, 'system', 'raised', {
      value: e.value,
      limit: e.limit,
      severity: e.severity,
      since: e.since,
      ...(correlated ? { correlated } : {}),
      ...(parent ? { gatewayAlarm: parent.id } : {}),
      ...(groupId !== null ? { group: groupId } : {}),
      ...(shelf ? { shelf: shelf.id } : {}),
    });
    // A burst is folded at the desk only: the notifier batches bursts into one message per recipient itself.
    return {
      alarm: get(id)!,
      change: 'raised',
      severityChanged: false,
      notify: !parent && !shelf,
      adopted: adopted(id, e.gateway!),
      released: [],
    };
  });

  /** A gateway alarm takes in the open silence alarms of its devices raised before it. */
  function adoptChildren(gatewayAlarmId: number, gateway: string): Alarm[] {
    const out: Alarm[] = [];
    for (const r of q.openOfGateway.all(gateway)) {
      if (r.id === gatewayAlarmId || r.parent_id !== null || r.device === null || ruleRole(r.rule_id) !== 'device-silence') continue;
      q.setParent.run(gatewayAlarmId, r.id);
      audit(r.id, 'system', 'correlated', { gatewayAlarm: gatewayAlarmId });
      out.push(get(r.id)!);
    }
    return out;
  }

  const mustGet = (id: number): Row => {
    const r = q.byId.get(id);
    if (!r) throw new AlarmNotFound(`alarm ${id} not found`);
    return r;
  };

  const acknowledge = db.transaction((id: number, user: string, comment?: string): Alarm => {
    const r = mustGet(id);
    if (r.state !== 'active') throw new AlarmConflict(`alarm ${id} is ${r.state}`);
    db.prepare("UPDATE alarms SET state = 'acknowledged', acknowledged_by = ?, acknowledged_at = ? WHERE id = ?").run(user, now(), id);
    audit(id, user, 'acknowledged', comment ? { comment } : {});
    return get(id)!;
  });

  const assign = db.transaction((id: number, user: string, assignee: string): Alarm => {
    const r = mustGet(id);
    if (r.state === 'cleared') throw new AlarmConflict(`alarm ${id} is cleared`);
    db.prepare('UPDATE alarms SET assignee = ? WHERE id = ?').run(assignee, id);
    audit(id, user, 'assigned', { from: r.assignee, to: assignee });
    return get(id)!;
  });

  const comment = db.transaction((id: number, user: string, text: string): Alarm => {
    mustGet(id);
    audit(id, user, 'comment', { text });
    return get(id)!;
  });

  const clear = db.transaction((id: number, user: string, text?: string): Alarm => {
    const r = mustGet(id);
    if (r.state === 'cleared') throw new AlarmConflict(`alarm ${id} is already cleared`);
    db.prepare("UPDATE alarms SET state = 'cleared', cleared_at = ?, cleared_by = ? WHERE id = ?").run(now(), user, id);
    audit(id, user, 'cleared', text ? { comment: text } : {});
    return get(id)!;
  });

  function list(f: ListFilter = {}): Alarm[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const oneOf = (column: string, values: string[] | undefined) => {
      if (!values?.length) return;
      where.push(`${column} IN (${values.map(() => '?').join(',')})`);
      args.push(...values);
    };
    oneOf('state', f.states);
    oneOf('severity', f.severities);
    if (f.ward) oneOf('ward', [f.ward]);
    if (f.kind) oneOf('kind', [f.kind]);
    if (f.assignee === null) where.push('assignee IS NULL');
    else if (f.assignee !== undefined) oneOf('assignee', [f.assignee]);
    if (f.text) {
      const like = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(
        "(message_vi LIKE ? ESCAPE '\\' OR message_en LIKE ? ESCAPE '\\' OR rule_id LIKE ? ESCAPE '\\' OR source_id LIKE ? ESCAPE '\\' OR IFNULL(device, '') LIKE ? ESCAPE '\\')",
      );
      args.push(like, like, like, like, like);
    }
    if (f.from !== undefined) (where.push('opened_at >= ?'), args.push(f.from));
    if (f.to !== undefined) (where.push('opened_at < ?'), args.push(f.to));
    if (f.beforeId) (where.push('id < ?'), args.push(f.beforeId));
    const sql = `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    args.push(f.limit === 'all' ? -1 : Math.min(Math.max(f.limit ?? 200, 1), 5000));
    return (db.prepare(sql).all(...args) as Row[]).map(toAlarm);
  }

  /** Silences the open alarms a new shelf covers (their trail says so); returns them. */
  const shelveOpen = db.transaction((shelf: { id: number; targetType: string; targetId: string }, user: string): Alarm[] => {
    const column = shelf.targetType === 'device' ? 'device' : shelf.targetType === 'gateway' ? 'gateway' : 'ward';
    const rows = db
      .prepare(`SELECT * FROM alarms WHERE ${column} = ? AND state != 'cleared' AND shelf_id IS NULL`)
      .all(shelf.targetId) as Row[];
    for (const r of rows) {
      q.setShelf.run(shelf.id, r.id);
      audit(r.id, user, 'shelved', { shelf: shelf.id });
    }
    return rows.map((r) => get(r.id)!);
  });

  /**
   * Open alarms whose shelf has ended (expired, or ended by hand) leave maintenance: the shelf is closed,
   * the alarm is no longer marked shelved and its trail says so. Returns them, to be announced again.
   */
  const releaseShelves = db.transaction((at: number): Alarm[] => {
    db.prepare("UPDATE alarm_shelves SET ended_at = until, ended_by = 'system' WHERE ended_at IS NULL AND until <= ?").run(at);
    const rows = db
      .prepare(
        `SELECT a.* FROM alarms a JOIN alarm_shelves s ON s.id = a.shelf_id
         WHERE a.state != 'cleared' AND s.ended_at IS NOT NULL`,
      )
      .all() as Row[];
    for (const r of rows) {
      q.setShelf.run(null, r.id);
      audit(r.id, 'system', 'unshelved', { shelf: r.shelf_id });
    }
    return rows.map((r) => get(r.id)!);
  });

  return {
    applyEvent,
    releaseShelves,
    acknowledge,
    assign,
    comment,
    clear,
    get,
    list,
    shelveOpen,
    trail(id: number): AlarmAuditEntry[] {
      return q.trail
        .all(id)
        .map((r) => ({ ts: r.ts, user: r.user, action: r.action, detail: JSON.parse(r.detail) as Record<string, unknown> }));
    },
    /** Alarms explained by this (gateway) alarm. */
    children(id: number): Alarm[] {
      return (db.prepare('SELECT * FROM alarms WHERE parent_id = ? ORDER BY id').all(id) as Row[]).map(toAlarm);
    },
    /** Open alarms not explained by a gateway alarm, and how many of them wait for an acknowledgement, in `wards` (all: undefined). */
    count(wards?: readonly string[]): { unacknowledged: number; open: number } {
      const inWards = wards ? ` AND ward IN (${wards.map(() => '?').join(',') || 'NULL'})` : '';
      const r = db
        .prepare(
          `SELECT COUNT(*) AS open, COALESCE(SUM(state = 'active'), 0) AS unacknowledged FROM alarms
           WHERE state != 'cleared' AND parent_id IS NULL${inWards}`,
        )
        .get(...(wards ?? [])) as { open: number; unacknowledged: number };
      return { unacknowledged: r.unacknowledged, open: r.open };
    },
    countsByWard(ward: string) {
      const counts = { critical: 0, major: 0, minor: 0, warning: 0 };
      for (const r of q.countsByWard.all(ward)) if (r.severity in counts) counts[r.severity as keyof typeof counts] = r.n;
      return counts;
    },
  };
}

export class AlarmNotFound extends Error {}
export type AlarmStore = ReturnType<typeof createAlarmStore>;
