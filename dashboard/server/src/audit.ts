import type Database from 'better-sqlite3';

export interface AuditEntry {
  id: number;
  ts: number;
  user: string;
  action: string;
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  from?: number;
  to?: number;
  user?: string;
  action?: string;
  q?: string;
  limit?: number;
  offset?: number;
}

/** Every change and every command leaves a row here: who, what, when. */
export function createAuditLog(db: Database.Database, now: () => number) {
  const insert = db.prepare('INSERT INTO audit (ts, user, action, detail) VALUES (?, ?, ?, ?)');
  return {
    write(user: string, action: string, detail: Record<string, unknown>): void {
      insert.run(now(), user, action, JSON.stringify(detail));
    },
    /** Newest first; `action` ending in "." matches every action under it; `q` searches the detail. */
    list(opts: AuditFilter = {}): { entries: AuditEntry[]; total: number } {
      const where = ['ts >= ?', 'ts <= ?'];
      const args: unknown[] = [opts.from ?? 0, opts.to ?? Number.MAX_SAFE_INTEGER];
      if (opts.user) {
        where.push('user = ?');
        args.push(opts.user);
      }
      if (opts.action) {
        // "alarm." matches every action of that family.
        const prefix = opts.action.endsWith('.');
        where.push(prefix ? 'substr(action, 1, ?) = ?' : 'action = ?');
        args.push(...(prefix ? [opts.action.length, opts.action] : [opts.action]));
      }
      if (opts.q) {
        where.push("detail LIKE ? ESCAPE '\\'");
        args.push(`%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      }
      const sql = `FROM audit WHERE ${where.join(' AND ')}`;
      const total = (db.prepare(`SELECT COUNT(*) AS n ${sql}`).get(...args) as { n: number }).n;
      const rows = db
        .prepare(`SELECT id, ts, user, action, detail ${sql} ORDER BY id DESC LIMIT ? OFFSET ?`)
        .all(...args, opts.limit ?? 200, opts.offset ?? 0) as Array<{
        id: number;
        ts: number;
        user: string;
        action: string;
        detail: string;
      }>;
      return { entries: rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> })), total };
    },
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;
