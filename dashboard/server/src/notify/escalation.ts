import type { NotifyContext } from './context';
import type { Planner } from './planning';

interface EscalationRow {
  alarm_id: number;
  route_id: string;
  next_step: number;
  due_at: number;
}

/**
 * Unacknowledged alarms climb their routes: each due step is queued and the next one scheduled, in one
 * transaction; an alarm acknowledged, cleared, explained by its gateway's alarm or shelved meanwhile stops.
 */
export function createEscalator(ctx: NotifyContext, planner: Planner) {
  const { db } = ctx;
  const escalate = db.transaction((row: EscalationRow, t: number) => {
    const alarm = ctx.getAlarm(row.alarm_id);
    const route = ctx.current.routesById.get(row.route_id);
    if (!alarm || !route || alarm.state !== 'active' || alarm.parentId !== null || alarm.shelfId !== null) {
      db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ? AND route_id = ?').run(row.alarm_id, row.route_id);
      return;
    }
    planner.fireStep(alarm, route, row.next_step, t);
    planner.schedule(alarm, route, row.next_step + 1);
  });

  return {
    /** Fires every step due at `t`. */
    escalateDue(t: number): void {
      const due = db.prepare('SELECT * FROM notify_escalations WHERE due_at <= ? ORDER BY due_at').all(t) as EscalationRow[];
      for (const row of due) escalate.immediate(row, t);
    },
  };
}
