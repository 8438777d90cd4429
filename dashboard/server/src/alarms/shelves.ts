import type Database from 'better-sqlite3';
import type { Shelf, ShelfTarget } from '@tamky/protocol';

// A shelf as the API carries it (protocol/src/api/alarms.ts).
export { SHELF_TARGETS, type Shelf, type ShelfTarget } from '@tamky/protocol';

interface Row {
  id: number;
  target_type: ShelfTarget;
  target_id: string;
  reason: string;
  user: string;
  created_at: number;
  until: number;
  ended_at: number | null;
  ended_by: string | null;
}
const toShelf = (r: Row): Shelf => ({
  id: r.id,
  targetType: r.target_type,
  targetId: r.target_id,
  reason: r.reason,
  user: r.user,
  createdAt: r.created_at,
  until: r.until,
  endedAt: r.ended_at,
  endedBy: r.ended_by,
});

export function createShelves(db: Database.Database, now: () => number) {
  const active = db.prepare<[number], Row>('SELECT * FROM alarm_shelves WHERE ended_at IS NULL AND until > ? ORDER BY id');
  const byId = db.prepare<[number], Row>('SELECT * FROM alarm_shelves WHERE id = ?');
  const matching = db.prepare<[number, string, string, string], Row>(`SELECT * FROM alarm_shelves WHERE ended_at IS NULL AND until > ?
    AND ((target_type = 'device' AND target_id = ?) OR (target_type = 'gateway' AND target_id = ?) OR (target_type = 'ward' AND target_id = ?)) ORDER BY until DESC LIMIT 1`);
  return {
    active: (): Shelf[] => active.all(now()).map(toShelf),
    get: (id: number): Shelf | undefined => {
      const r = byId.get(id);
      return r ? toShelf(r) : undefined;
    },
    /** The shelf in force for an alarm's device, gateway or ward, if any. */
    covering(where: { device: string | null; gateway: string | null; ward: string | null }, at = now()): Shelf | undefined {
      const r = matching.get(at, where.device ?? '\u0000', where.gateway ?? '\u0000', where.ward ?? '\u0000');
      return r ? toShelf(r) : undefined;
    },
    add(target: { targetType: ShelfTarget; targetId: string; reason: string; until: number }, user: string): Shelf {
      const info = db
        .prepare('INSERT INTO alarm_shelves (target_type, target_id, reason, user, created_at, until) VALUES (?, ?, ?, ?, ?, ?)')
        .run(target.targetType, target.targetId, target.reason, user, now(), target.until);
      return toShelf(byId.get(Number(info.lastInsertRowid))!);
    },
    end(id: number, user: string): Shelf | undefined {
      db.prepare('UPDATE alarm_shelves SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL').run(now(), user, id);
      const r = byId.get(id);
      return r ? toShelf(r) : undefined;
    },
  };
}
export type Shelves = ReturnType<typeof createShelves>;
