import type Database from 'better-sqlite3';
import { ROLES, type Role } from '../config';
import { HttpError, notFound } from '../http/errors';
import { hashPassword } from '../passwords';
import { migrate } from '../state-db';

export const MIN_PASSWORD_LENGTH = 12;

/** What the admin screens see of an account: never the hash. */
export interface UserView {
  username: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
  /** The wards the account is limited to; empty: the whole city. */
  wards: string[];
  /** Last successful login, from the audit log (null: never since the log began). */
  lastLogin: number | null;
}

export interface UserPatch {
  displayName?: string;
  role?: Role;
  disabled?: boolean;
  password?: string;
  wards?: string[];
}

/** What changed, for the audit row: values for role/disabled/displayName, only a flag for the password. */
export type UserChanges = Partial<{
  displayName: { from: string; to: string };
  role: { from: Role; to: Role };
  disabled: { from: boolean; to: boolean };
  wards: { from: string[]; to: string[] };
  passwordReset: true;
}>;

interface Row {
  username: string;
  display_name: string;
  role: Role;
  disabled: number;
  created_at: number;
  wards: string;
  last_login: number | null;
}

const ADMIN_MIGRATIONS = [
  // "Last login" is read from the audit log; this index keeps that a lookup instead of a scan.
  { name: 'admin/001-audit-login-index', sql: 'CREATE INDEX IF NOT EXISTS audit_action_user ON audit (action, user, ts)' },
];

/**
 * Account administration on the core `users` table. Config seeds only insert accounts that do not exist
 * yet, so once a row exists the state DB wins: changes made here survive restarts and config edits.
 */
export function createUserAdmin(db: Database.Database, now: () => number) {
  migrate(db, ADMIN_MIGRATIONS);
  const select = `SELECT u.username, u.display_name, u.role, u.disabled, u.created_at, u.wards,
      (SELECT MAX(a.ts) FROM audit a WHERE a.action = 'auth.login' AND a.user = u.username) AS last_login
    FROM users u`;
  const listStmt = db.prepare(`${select} ORDER BY u.username`);
  const getStmt = db.prepare(`${select} WHERE u.username = ?`);
  const enabledAdmins = db.prepare("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0");
  const insert = db.prepare(
    'INSERT INTO users (username, display_name, role, password_hash, disabled, created_at, wards) VALUES (?, ?, ?, ?, 0, ?, ?)',
  );
  const endSessions = db.prepare('DELETE FROM sessions WHERE username = ?');
  const endOtherSessions = db.prepare('DELETE FROM sessions WHERE username = ? AND id_hash != ?');

  const view = (r: Row): UserView => ({
    username: r.username,
    displayName: r.display_name,
    role: r.role,
    disabled: r.disabled === 1,
    createdAt: r.created_at,
    wards: JSON.parse(r.wards) as string[],
    lastLogin: r.last_login,
  });
  const get = (username: string) => {
    const row = getStmt.get(username) as Row | undefined;
    return row ? view(row) : null;
  };

  return {
    list: (): UserView[] => (listStmt.all() as Row[]).map(view),
    get,

    async create(input: { username: string; displayName: string; role: Role; password: string; wards?: string[] }): Promise<UserView> {
      checkPassword(input.password, input.username);
      const hash = await hashPassword(input.password);
      try {
        insert.run(input.username, input.displayName, input.role, hash, now(), JSON.stringify(input.wards ?? []));
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
          throw new HttpError(409, 'exists', `user ${input.username} already exists`);
        throw err;
      }
      return get(input.username)!;
    },

    /**
     * Applies a patch. Disabling, a role or ward change or a new password ends the user's sessions (all of them, or
     * all but `keepSessionHash` when admins change their own password), so the change takes effect now.
     */
    async update(
      actor: string,
      username: string,
      patch: UserPatch,
      keepSessionHash?: string,
    ): Promise<{ user: UserView; changes: UserChanges; sessionsEnded: number }> {
      const before = get(username);
      if (!before) throw notFound(`user ${username}`);
      if (patch.password !== undefined) checkPassword(patch.password, username);
      const losesAdmin =
        before.role === 'admin' && !before.disabled && ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true);
      if (losesAdmin && actor === username)
        throw new HttpError(409, 'self_lockout', 'you cannot disable or demote yourself: ask another admin');
      const hash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;

      const changes: UserChanges = {};
      if (patch.displayName !== undefined && patch.displayName !== before.displayName)
        changes.displayName = { from: before.displayName, to: patch.displayName };
      if (patch.role !== undefined && patch.role !== before.role) changes.role = { from: before.role, to: patch.role };
      if (patch.disabled !== undefined && patch.disabled !== before.disabled)
        changes.disabled = { from: before.disabled, to: patch.disabled };
      if (patch.wards !== undefined && JSON.stringify(patch.wards) !== JSON.stringify(before.wards))
        changes.wards = { from: before.wards, to: patch.wards };
      if (hash) changes.passwordReset = true;

      let sessionsEnded = 0;
      db.transaction(() => {
        // Counted inside the transaction: two admins demoting each other at once cannot both succeed.
        if (losesAdmin && (enabledAdmins.get() as { n: number }).n <= 1)
          throw new HttpError(409, 'last_admin', 'at least one enabled admin must remain');
        const sets: string[] = [];
        const args: unknown[] = [];
        if (changes.displayName) {
          sets.push('display_name = ?');
          args.push(changes.displayName.to);
        }
        if (changes.role) {
          sets.push('role = ?');
          args.push(changes.role.to);
        }
        if (changes.disabled) {
          sets.push('disabled = ?');
          args.push(changes.disabled.to ? 1 : 0);
        }
        if (changes.wards) {
          sets.push('wards = ?');
          args.push(JSON.stringify(changes.wards.to));
        }
        if (hash) {
          sets.push('password_hash = ?');
          args.push(hash);
        }
        if (sets.length) db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE username = ?`).run(...args, username);
        if (changes.role || changes.wards || changes.disabled?.to === true || changes.passwordReset) {
          sessionsEnded = (keepSessionHash ? endOtherSessions.run(username, keepSessionHash) : endSessions.run(username)).changes;
        } else if (changes.displayName) {
          // Sessions carry a copy of the display name; keep them but show the new name.
          db.prepare('UPDATE sessions SET display_name = ? WHERE username = ?').run(changes.displayName.to, username);
        }
      })();
      return { user: get(username)!, changes, sessionsEnded };
    },
  };
}
export type UserAdmin = ReturnType<typeof createUserAdmin>;

function checkPassword(password: string, username: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new HttpError(400, 'weak_password', `password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.toLowerCase().includes(username.toLowerCase()))
    throw new HttpError(400, 'weak_password', 'password must not contain the username');
}

export const isRole = (v: unknown): v is Role => (ROLES as readonly unknown[]).includes(v);
