import type Database from 'better-sqlite3';
import type { AlarmEvent } from '@tamky/protocol';
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
  limit?: number;
  beforeId?: number;
}

/**
 * Alarm lifecycle in the state DB. Every change runs in one transaction with its audit row, so the
 * trail and the alarm never disagree, and a restart resumes from exactly what was committed.
 */
export function createAlarmStore(db: Database.Database, now: () => number) {
  const q = {
    open: db.prepare<[string, string], Row>("SELECT * FROM alarms WHERE rule_id = ? AND source_id = ? AND state != 'cleared'"),
    byId: db.prepare<[number], Row>('SELECT * FROM alarms WHERE id = ?'),
    insert: db.prepare(`INSERT INTO alarms (rule_id, source_id, state, severity, category, ward, kind, device, gateway, field, value, limit_value, unit,
      message_vi, message_en, since, first_seen, last_seen, count, opened_at)
      VALUES (@ruleId, @sourceId, 'active', @severity, @category, @ward, @kind, @device, @gateway, @field, @value, @limit, @unit,
      @vi, @en, @since, @ts, @ts, 1, @now)`),
    repeat: db.prepare(`UPDATE alarms SET severity = @severity, value = @value, limit_value = @limit, message_vi = @vi, message_en = @en,
      last_seen = @ts, count = count + 1 WHERE id = @id`),
    audit: db.prepare('INSERT INTO alarm_audit (alarm_id, ts, user, action, detail) VALUES (?, ?, ?, ?, ?)'),
    trail: db.prepare<[number], { ts: number; user: string; action: string; detail: string }>('SELECT ts, user, action, detail FROM alarm_audit WHERE alarm_id = ? ORDER BY id'),
    countsByWard: db.prepare<[string], { severity: string; n: number }>("SELECT severity, COUNT(*) AS n FROM alarms WHERE ward = ? AND state != 'cleared' GROUP BY severity"),
  };

  const get = (id: number): Alarm | undefined => {
    const r = q.byId.get(id);
    return r ? toAlarm(r) : undefined;
  };
  const audit = (id: number, user: string, action: string, detail: Record<string, unknown>) => q.audit.run(id, now(), user, action, JSON.stringify(detail));

  /** Folds a detector event into the lifecycle; undefined when it changes nothing (duplicate, stale, unknown clear). */
  const applyEvent = db.transaction((e: AlarmEvent): { alarm: Alarm; change: AlarmChange; severityChanged: boolean } | undefined => {
    const open = q.open.get(e.ruleId, e.sourceId);
    if (e.state === 'cleared') {
      // A clear older than the alarm's last sighting is a redelivery out of order; one for no open alarm is a reconciliation.
      if (!open || e.ts < open.last_seen) return undefined;
      db.prepare("UPDATE alarms SET state = 'cleared', cleared_at = ?, cleared_by = 'system', value = COALESCE(?, value) WHERE id = ?").run(e.ts, e.value, open.id);
      audit(open.id, 'system', 'cleared', { reason: 'condition cleared', value: e.value, ts: e.ts });
      return { alarm: get(open.id)!, change: 'cleared', severityChanged: false };
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
      return { alarm: get(open.id)!, change: 'updated', severityChanged };
    }
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
    });
    const id = Number(info.lastInsertRowid);
    audit(id, 'system', 'raised', { value: e.value, limit: e.limit, severity: e.severity, since: e.since });
    return { alarm: get(id)!, change: 'raised', severityChanged: false };
  });

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
    if (f.states?.length) {
      where.push(`state IN (${f.states.map(() => '?').join(',')})`);
      args.push(...f.states);
    }
    if (f.severities?.length) {
      where.push(`severity IN (${f.severities.map(() => '?').join(',')})`);
      args.push(...f.severities);
    }
    if (f.ward) {
      where.push('ward = ?');
      args.push(f.ward);
    }
    if (f.beforeId) {
      where.push('id < ?');
      args.push(f.beforeId);
    }
    const sql = `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    args.push(Math.min(Math.max(f.limit ?? 200, 1), 1000));
    return (db.prepare(sql).all(...args) as Row[]).map(toAlarm);
  }

  return {
    applyEvent,
    acknowledge,
    assign,
    comment,
    clear,
    get,
    list,
    trail(id: number): AlarmAuditEntry[] {
      return q.trail.all(id).map((r) => ({ ts: r.ts, user: r.user, action: r.action, detail: JSON.parse(r.detail) as Record<string, unknown> }));
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
