import type Database from 'better-sqlite3';

export interface AuditEntry {
  id: number;
  ts: number;
  user: string;
  action: string;
  detail: Record<string, unknown>;
}

/** Every change and every command leaves a row here: who, what, when. */
export function createAuditLog(db: Database.Database, now: () => number) {
  const insert = db.prepare('INSERT INTO audit (ts, user, action, detail) VALUES (?, ?, ?, ?)');
  const list = db.prepare('SELECT id, ts, user, action, detail FROM audit WHERE ts >= ? AND ts <= ? ORDER BY id DESC LIMIT ?');
  return {
    write(user: string, action: string, detail: Record<string, unknown>): void {
      insert.run(now(), user, action, JSON.stringify(detail));
    },
    list(opts: { from?: number; to?: number; limit?: number } = {}): AuditEntry[] {
      const rows = list.all(opts.from ?? 0, opts.to ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 200) as Array<{ id: number; ts: number; user: string; action: string; detail: string }>;
      return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
    },
  };
}
export type AuditLog = ReturnType<typeof createAuditLog>;
