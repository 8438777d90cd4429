import type Database from 'better-sqlite3';
import type { CityModel } from '@tamky/protocol';
import { HttpError, InvalidInputError } from '../http/errors';
import { migrate } from '../state-db';
import { validateCity } from './validate-city';

export interface RegistryVersion {
  version: number;
  city: CityModel;
  updatedBy: string;
  updatedAt: number;
}

const REGISTRY_MIGRATIONS = [
  {
    name: 'registry/001-init',
    sql: 'CREATE TABLE city_registry (version INTEGER PRIMARY KEY, city TEXT NOT NULL, user TEXT NOT NULL, ts INTEGER NOT NULL)',
  },
];

/**
 * The device registry (the city model) versioned in the state DB. The city file seeds version 1 on first
 * start. Until an admin edits the registry in the dashboard, a changed file becomes a new version at start;
 * after that the DB wins, so an admin's edits survive restarts and file edits never silently undo them.
 */
export function createRegistryStore(db: Database.Database, seed: CityModel, now: () => number) {
  migrate(db, REGISTRY_MIGRATIONS);
  const latest = db.prepare('SELECT version, city, user, ts FROM city_registry ORDER BY version DESC LIMIT 1');
  const insert = db.prepare('INSERT INTO city_registry (version, city, user, ts) VALUES (?, ?, ?, ?)');
  const read = (): RegistryVersion | null => {
    const row = latest.get() as { version: number; city: string; user: string; ts: number } | undefined;
    return row ? { version: row.version, city: JSON.parse(row.city) as CityModel, updatedBy: row.user, updatedAt: row.ts } : null;
  };
  // 'seeded': version 1 written from the file; 'file-updated': nobody edited in the dashboard yet and the file
  // changed, so it becomes a new version; 'db-wins': an admin edited here, the file's changes are not applied.
  let start: 'seeded' | 'unchanged' | 'file-updated' | 'db-wins' = 'unchanged';
  const stored = read();
  if (!stored) {
    insert.run(1, JSON.stringify(seed), 'system', now());
    start = 'seeded';
  } else if (JSON.stringify(stored.city) !== JSON.stringify(seed)) {
    if (stored.updatedBy === 'system') {
      insert.run(stored.version + 1, JSON.stringify(seed), 'system', now());
      start = 'file-updated';
    } else start = 'db-wins';
  }
  let current = read()!;
  const listeners: Array<(v: RegistryVersion, before: RegistryVersion) => void> = [];

  return {
    /** What this start did with the city file (see above). */
    start,
    current: (): RegistryVersion => current,
    /**
     * Validates and stores a new version. `baseVersion` is the version the editor started from: a stale editor
     * gets 409 instead of silently overwriting someone else's change.
     */
    replace(baseVersion: number | undefined, input: unknown, user: string): RegistryVersion {
      const checked = validateCity(input);
      if (!checked.ok) throw new InvalidInputError('invalid_registry', checked.issues);
      const before = current;
      db.transaction(() => {
        const cur = read()!;
        if (baseVersion !== undefined && baseVersion !== cur.version)
          throw new HttpError(409, 'conflict', `registry changed meanwhile: now version ${cur.version} by ${cur.updatedBy}`);
        insert.run(cur.version + 1, JSON.stringify(checked.city), user, now());
      })();
      current = read()!;
      for (const l of listeners) l(current, before);
      return current;
    },
    onChange(listener: (v: RegistryVersion, before: RegistryVersion) => void): void {
      listeners.push(listener);
    },
    /**
     * Picks up a version another dashboard process sharing the state DB saved (listeners run here too, so
     * this process's gateways and publishing follow). Cheap: one indexed lookup of the newest version.
     */
    refresh(): boolean {
      const newest = (db.prepare('SELECT MAX(version) AS v FROM city_registry').get() as { v: number | null }).v ?? 0;
      if (newest <= current.version) return false;
      const before = current;
      current = read()!;
      for (const l of listeners) l(current, before);
      return true;
    },
  };
}
export type RegistryStore = ReturnType<typeof createRegistryStore>;
