import type Database from 'better-sqlite3';

export interface AuditEntry {
  id: number;
  ts: number;
  user: string;
  action: string;
  detail: Record<string, unknown>;
  /** The wards the actor was limited to at the time (absent: city-wide). */
  scope?: string[];
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

/** Every change and every command leaves a row here: who, what, when, and within which wards. */
export function createAuditLog(db: Database.Database, now: () => number) {
  const insert = db.prepare('INSERT INTO audit (ts, user, action, detail, scope) VALUES (?, ?, ?, ?, ?)');
  const userWards = db.prepare('SELECT wards FROM users WHERE username = ?');
  /** The actor's ward list as stored for its account or API token ("token:<id>"); null when city-wide. */
  const scopeOf = (user: string): string | null => {
    const token = /^token:(.+)$/.exec(user);
    // api_tokens is created by the token store after this log: looked up per write, not prepared up front.
    const row = (token ? db.prepare('SELECT wards FROM api_tokens WHERE id = ?').get(token[1]) : userWards.get(user)) as
      { wards: string } | undefined;
    return row && row.wards !== '[]' ? row.wards : null;
  };
  return {
    write(user: string, action: string, detail: Record<string, unknown>): void {
      insert.run(now(), user, action, JSON.stringify(detail), scopeOf(user));
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
        .prepare(`SELECT id, ts, user, action, detail, scope ${sql} ORDER BY id DESC LIMIT ? OFFSET ?`)
        .all(...args, opts.limit ?? 200, opts.offset ?? 0) as Array<{
        id: number;
        ts: number;
        user: string;
        action: string;
        detail: string;
        scope: string | null;
      }>;
      return {
        entries: rows.map(({ scope, ...r }) => ({
          ...r,
          detail: JSON.parse(r.detail) as Record<string, unknown>,
          ...(scope ? { scope: JSON.parse(scope) as string[] } : {}),
        })),
        total,
      };
    },
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;
