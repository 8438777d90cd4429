import type Database from 'better-sqlite3';
import type { Role, UserSeed } from '../config';
import { verifyPassword } from '../passwords';

export interface User {
  username: string;
  displayName: string;
  role: Role;
  /** The wards this account is limited to; absent for a city-wide account. */
  wards?: string[];
}

/** `wards` as stored (a JSON list) → the User field: present only when the account is limited. */
export function wardsField(json: string | null | undefined): { wards?: string[] } {
  const wards = json ? (JSON.parse(json) as string[]) : [];
  return wards.length ? { wards } : {};
}

interface UserRow {
  username: string;
  display_name: string;
  role: Role;
  password_hash: string;
  disabled: number;
  wards: string;
}

/** Accounts in the state DB. Config `users` seed accounts that do not exist yet (a changed password in the DB wins). */
export function createAccounts(db: Database.Database, now: () => number) {
  const byName = db.prepare('SELECT username, display_name, role, password_hash, disabled, wards FROM users WHERE username = ?');
  const insert = db.prepare(
    'INSERT OR IGNORE INTO users (username, display_name, role, password_hash, created_at, wards) VALUES (?, ?, ?, ?, ?, ?)',
  );
  // A well-formed hash (N=2^15, the default cost): unknown usernames cost the same scrypt time as known ones.
  const DUMMY = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  const enabled = db.prepare('SELECT username, display_name, role, wards FROM users WHERE disabled = 0 ORDER BY display_name, username');
  return {
    /** Everyone who can sign in, e.g. to assign an alarm to a real person. */
    listEnabled(): User[] {
      return (enabled.all() as UserRow[]).map((r) => ({
        username: r.username,
        displayName: r.display_name,
        role: r.role,
        ...wardsField(r.wards),
      }));
    },
    seed(users: UserSeed[]): number {
      let added = 0;
      for (const u of users)
        added += insert.run(u.username, u.displayName, u.role, u.passwordHash, now(), JSON.stringify(u.wards ?? [])).changes;
      return added;
    },
    async authenticate(username: string, password: string): Promise<User | null> {
      const row = byName.get(username) as UserRow | undefined;
      const ok = await verifyPassword(password, row?.password_hash ?? DUMMY);
      if (!row || !ok || row.disabled) return null;
      return { username: row.username, displayName: row.display_name, role: row.role, ...wardsField(row.wards) };
    },
  };
}
export type Accounts = ReturnType<typeof createAccounts>;
