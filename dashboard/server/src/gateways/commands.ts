import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { commandResultSchema, type Command, type CommandResult } from '@tamky/protocol';

export interface CommandRecord {
  id: string;
  gateway: string;
  command: Command;
  sentAt: number;
  user: string;
  result: CommandResult | null;
}

/** Commands sent to gateways and their results, kept in the state DB (technicians look results up later). */
export function createCommandLog(db: Database.Database, now: () => number) {
  const insert = db.prepare('INSERT INTO commands (id, gateway, command, user, sent_at) VALUES (?, ?, ?, ?, ?)');
  const byId = db.prepare('SELECT id, gateway, command, user, sent_at, result FROM commands WHERE id = ?');
  const setResult = db.prepare('UPDATE commands SET result = ?, result_at = ? WHERE id = ? AND gateway = ? AND result IS NULL');
  const forGateway = db.prepare(
    'SELECT id, gateway, command, user, sent_at, result FROM commands WHERE gateway = ? ORDER BY sent_at DESC LIMIT ?',
  );
  type Row = { id: string; gateway: string; command: string; user: string; sent_at: number; result: string | null };
  const toRecord = (r: Row): CommandRecord => ({
    id: r.id,
    gateway: r.gateway,
    command: JSON.parse(r.command) as Command,
    sentAt: r.sent_at,
    user: r.user,
    result: r.result ? (JSON.parse(r.result) as CommandResult) : null,
  });
  return {
    newId: () => randomUUID(),
    record(gateway: string, command: Command, user: string): CommandRecord {
      const sentAt = now();
      insert.run(command.id, gateway, JSON.stringify(command), user, sentAt);
      return { id: command.id, gateway, command, sentAt, user, result: null };
    },
    get(id: string): CommandRecord | null {
      const row = byId.get(id) as Row | undefined;
      return row ? toRecord(row) : null;
    },
    recent(gateway: string, limit = 20): CommandRecord[] {
      return (forGateway.all(gateway, limit) as Row[]).map(toRecord);
    },
    /** Returns the updated record, or null when the result is malformed, unknown, or a duplicate delivery. */
    onResult(gatewayId: string, payload: Buffer): CommandRecord | null {
      let data: unknown;
      try {
        data = JSON.parse(payload.toString('utf8'));
      } catch {
        return null;
      }
      const parsed = commandResultSchema.safeParse(data);
      if (!parsed.success || parsed.data.gateway !== gatewayId) return null;
      const changed = setResult.run(JSON.stringify(parsed.data), now(), parsed.data.id, gatewayId).changes;
      return changed ? this.get(parsed.data.id) : null;
    },
  };
}
export type CommandLog = ReturnType<typeof createCommandLog>;
