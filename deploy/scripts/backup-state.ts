import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Online backup of a SQLite database (the dashboard's state DB: users, alarms, notification outbox,
 * audit; or the embedded readings store) while the service keeps running, through SQLite's backup API,
 * then an integrity check of the copy. Restore: stop the service, then `--restore`.
 *
 *   npx tsx deploy/scripts/backup-state.ts --db data/state.db --to backups/state-2026-11-26.db
 *   npx tsx deploy/scripts/backup-state.ts --restore --from backups/state-2026-11-26.db --db data/state.db
 */
const { values } = parseArgs({
  options: { db: { type: 'string' }, to: { type: 'string' }, from: { type: 'string' }, restore: { type: 'boolean', default: false } },
});

function check(file: string): void {
  const db = new Database(file, { readonly: true });
  const result = db.pragma('integrity_check', { simple: true });
  db.close();
  if (result !== 'ok') throw new Error(`${file}: integrity check failed: ${String(result)}`);
}

if (!values.db) {
  console.error('--db <path> is required');
  process.exit(2);
}
if (values.restore) {
  if (!values.from || !existsSync(values.from)) {
    console.error('--from <backup file> is required and must exist');
    process.exit(2);
  }
  check(values.from);
  // Restore by backing the backup up into place, so the target is written by SQLite, not copied over a live WAL.
  const tmp = `${values.db}.restoring`;
  const source = new Database(values.from, { readonly: true });
  await source.backup(tmp);
  source.close();
  check(tmp);
  // The old database's WAL would otherwise be replayed onto the restored file.
  rmSync(`${values.db}-wal`, { force: true });
  rmSync(`${values.db}-shm`, { force: true });
  renameSync(tmp, values.db);
  console.log(`restored ${values.db} from ${values.from}`);
} else {
  if (!values.to) {
    console.error('--to <backup file> is required');
    process.exit(2);
  }
  const db = new Database(values.db, { readonly: true, fileMustExist: true });
  await db.backup(values.to);
  db.close();
  check(values.to);
  console.log(`backed up ${values.db} to ${values.to}`);
}
