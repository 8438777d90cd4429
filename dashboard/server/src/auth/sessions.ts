import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Role } from '../config';
import { wardsField, type User } from './accounts';

export interface Session {
  user: User;
  kiosk: boolean;
  csrfToken: string;
  expiresAt: number;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

/**
 * Sessions live in the state DB so a restart does not log the operations centre out. Only a hash of the
 * session id is stored: a leaked DB copy does not hand out live sessions.
 */
export function createSessions(db: Database.Database, ttlMs: number, now: () => number) {
  const insert = db.prepare(
    'INSERT INTO sessions (id_hash, username, display_name, role, kiosk, csrf_token, created_at, expires_at, wards) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const get = db.prepare('SELECT username, display_name, role, kiosk, csrf_token, expires_at, wards FROM sessions WHERE id_hash = ?');
  const remove = db.prepare('DELETE FROM sessions WHERE id_hash = ?');
  const purge = db.prepare('DELETE FROM sessions WHERE expires_at <= ?');
  return {
    create(user: User, kiosk: boolean): { id: string; session: Session } {
      const id = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(24).toString('base64url');
      const expiresAt = now() + ttlMs;
      insert.run(
        hashId(id),
        user.username,
        user.displayName,
        user.role,
        kiosk ? 1 : 0,
        csrfToken,
        now(),
        expiresAt,
        JSON.stringify(user.wards ?? []),
      );
      return { id, session: { user, kiosk, csrfToken, expiresAt } };
    },
    get(id: string): Session | null {
      const row = get.get(hashId(id)) as
        | { username: string; display_name: string; role: Role; kiosk: number; csrf_token: string; expires_at: number; wards: string }
        | undefined;
      if (!row) return null;
      if (row.expires_at <= now()) {
        remove.run(hashId(id));
        return null;
      }
      return {
        user: { username: row.username, displayName: row.display_name, role: row.role, ...wardsField(row.wards) },
        kiosk: row.kiosk === 1,
        csrfToken: row.csrf_token,
        expiresAt: row.expires_at,
      };
    },
    destroy(id: string): void {
      remove.run(hashId(id));
    },
    purgeExpired(): number {
      return purge.run(now()).changes;
    },
  };
}
export type Sessions = ReturnType<typeof createSessions>;
