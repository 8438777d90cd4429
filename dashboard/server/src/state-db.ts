import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The state DB holds everything the dashboard owns (accounts, sessions, gateways, commands, rules, audit).
 * WAL + synchronous=NORMAL: a committed change survives a process crash, and readers never block the writer.
 */
export function openStateDb(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  return db;
}

/** Applies each named migration once (modules use their own prefix, e.g. "alarms/001-init"). */
export function migrate(db: Database.Database, migrations: Array<{ name: string; sql: string }>): void {
  const applied = db.prepare('SELECT 1 FROM migrations WHERE name = ?');
  const record = db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)');
  for (const m of migrations) {
    if (applied.get(m.name)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.name, Date.now());
    })();
  }
}

export const CORE_MIGRATIONS = [
  {
    name: 'core/001-init',
    sql: `
      CREATE TABLE users (
        username TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        kiosk INTEGER NOT NULL DEFAULT 0,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX sessions_expiry ON sessions (expires_at);
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_ts ON audit (ts);
      CREATE TABLE gateways (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        last_seen INTEGER,
        status TEXT,
        health TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE commands (
        id TEXT PRIMARY KEY,
        gateway TEXT NOT NULL,
        command TEXT NOT NULL,
        user TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        result TEXT,
        result_at INTEGER
      );
      CREATE INDEX commands_gateway ON commands (gateway, sent_at);
      CREATE TABLE gateway_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        gateway TEXT NOT NULL,
        device TEXT,
        ts INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        detail TEXT,
        UNIQUE (gateway, seq, ts)
      );
      CREATE TABLE rules (
        version INTEGER PRIMARY KEY,
        rules TEXT NOT NULL,
        user TEXT NOT NULL,
        ts INTEGER NOT NULL
      );
    `,
  },
  {
    // Ward-scoped accounts: a JSON list of ward ids (empty: the whole city); sessions carry a copy like the role.
    name: 'core/002-user-wards',
    sql: `
      ALTER TABLE users ADD COLUMN wards TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE sessions ADD COLUMN wards TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    // The wards the actor was limited to when the entry was written (NULL: city-wide).
    name: 'core/003-audit-scope',
    sql: 'ALTER TABLE audit ADD COLUMN scope TEXT',
  },
];
