import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';

/** What one gateway's outbox says it produced. */
export interface ProducedSeqs {
  gateway: string;
  /** Highest sequence number ever assigned; the gateway produced exactly 1..lastSeq. */
  lastSeq: number;
  /** Readings the outbox dropped by its size/age bound (they are then missing downstream, by design). */
  edgeDropped: number;
  /** Sequence numbers still waiting in the outbox (not yet acknowledged by the broker). */
  pending: number[];
}

/**
 * Reads an edge outbox (edge/src/outbox/outbox.ts) read-only.
 *
 * Why 1..lastSeq is exactly what was produced: the outbox's `telemetry.seq` is `INTEGER PRIMARY KEY
 * AUTOINCREMENT`, assigned inside the transaction that commits the reading, before anything publishes it.
 * AUTOINCREMENT keeps the high-water mark in `sqlite_sequence`, which survives deletes (acked rows leave the
 * table) and restarts, and a rolled-back insert rolls the high-water mark back too, so numbers are
 * contiguous from 1 and never reused. Caveats this relies on: the outbox file is never deleted or replaced
 * (a fresh file restarts at 1), and a reading whose insert fails is logged and never gets a seq at all
 * (gateway.ts onReading) — such a reading is invisible to this account.
 */
export function readOutbox(path: string, gateway = basename(path).replace(/\.db$/, '')): ProducedSeqs {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const hasSeqTable = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get();
    const last = hasSeqTable
      ? (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'telemetry'").get() as { seq: number } | undefined)
      : undefined;
    const dropped = db.prepare("SELECT value FROM meta WHERE key = 'dropped'").get() as { value: number } | undefined;
    const pending = (db.prepare('SELECT seq FROM telemetry ORDER BY seq').all() as Array<{ seq: number }>).map((r) => r.seq);
    return { gateway, lastSeq: last?.seq ?? 0, edgeDropped: dropped?.value ?? 0, pending };
  } finally {
    db.close();
  }
}

/** Every `<gatewayId>.db` in a folder (the layout demo/ and the fault harness use). */
export function readOutboxDir(dir: string): ProducedSeqs[] {
  if (!existsSync(dir)) throw new Error(`no outbox folder ${dir}`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.db'))
    .sort()
    .map((f) => readOutbox(join(dir, f)));
}
