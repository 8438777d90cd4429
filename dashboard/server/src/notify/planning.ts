import type { Alarm, AlarmChange } from '../alarms/model';
import type { NotifyContext } from './context';
import { notBefore, resolveRecipients, routesFor, type ChannelName, type Recipient, type Route } from './policy';
import { addressFor } from './recipients';

/**
 * What a lifecycle change means for notifications: who is told now (the route steps already due), what
 * escalation is scheduled, what is cancelled (acknowledged, cleared, silenced), who hears that it cleared.
 * Synchronous, so it commits in the caller's transaction with the change itself.
 */
export function createPlanner(ctx: NotifyContext) {
  const { db, logger, now, outbox, channels } = ctx;

  function enqueueFor(alarm: Alarm, r: Recipient, step: number, chain: ChannelName[], kind: 'alarm' | 'cleared', t: number): void {
    const { policy } = ctx.current;
    const usable = chain.filter((c) => channels.has(c) && addressFor(r, c));
    const channel = usable[0];
    if (!channel) {
      logger.warn({ recipient: r.id, alarm: alarm.id, chain }, 'recipient has no usable channel');
      return;
    }
    let dueAt = notBefore(policy, alarm.severity, t, ctx.timeZone);
    // Grouping: hold non-urgent messages briefly so a burst of related alarms becomes one message.
    if (!policy.grouping.immediateSeverities.includes(alarm.severity)) dueAt += policy.grouping.windowS * 1000;
    outbox.enqueue({
      alarmId: alarm.id,
      recipient: r.id,
      channel,
      address: addressFor(r, channel)!,
      chain: usable,
      step,
      kind,
      locale: r.locale ?? policy.locale,
      dueAt,
    });
  }

  /** Queues one step of a route for the recipients it names at time `t` (on-call shifts resolved then). */
  function fireStep(alarm: Alarm, route: Route, step: number, t: number): void {
    const s = route.steps[step];
    if (!s) return;
    for (const r of resolveRecipients(ctx.current.policy, s.to, t, ctx.timeZone))
      enqueueFor(alarm, r, step, s.channels ?? r.channels, 'alarm', t);
  }

  const scheduleStmt = db.prepare('INSERT OR REPLACE INTO notify_escalations (alarm_id, route_id, next_step, due_at) VALUES (?, ?, ?, ?)');
  /** Schedules the route's `step` (counted from when the alarm opened), or ends the route's escalation after its last step. */
  function schedule(alarm: Alarm, route: Route, step: number): void {
    const s = route.steps[step];
    if (s) scheduleStmt.run(alarm.id, route.id, step, alarm.openedAt + s.afterMin * 60_000);
    else db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ? AND route_id = ?').run(alarm.id, route.id);
  }

  function plan(alarm: Alarm, change: AlarmChange): void {
    const { policy, recipients } = ctx.current;
    const t = now();
    if (change === 'raised') {
      const existing = new Set(
        (db.prepare('SELECT route_id FROM notify_escalations WHERE alarm_id = ?').all(alarm.id) as Array<{ route_id: string }>).map(
          (r) => r.route_id,
        ),
      );
      const started = new Set(outbox.forAlarm(alarm.id).map((r) => r.step));
      for (const route of routesFor(policy, alarm)) {
        if (existing.has(route.id)) continue;
        // Severity escalated into a new route, or a first raise: start at the first step not yet due later.
        let step = 0;
        while (route.steps[step] && alarm.openedAt + route.steps[step]!.afterMin * 60_000 <= t) {
          if (!(step > 0 && started.has(step))) fireStep(alarm, route, step, t);
          step++;
        }
        schedule(alarm, route, step);
      }
      return;
    }
    if (change === 'acknowledged' || change === 'cleared') {
      db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ?').run(alarm.id);
      const cancelled = outbox.cancelPending(alarm.id, change);
      if (cancelled) logger.info({ alarm: alarm.id, cancelled, change }, 'pending notifications cancelled');
      if (change === 'cleared') {
        const told = new Set(
          outbox
            .forAlarm(alarm.id)
            .filter((r) => r.kind === 'alarm' && (r.state === 'accepted' || r.state === 'delivered'))
            .map((r) => r.recipient),
        );
        for (const route of routesFor(policy, alarm)) {
          if (!route.notifyClear) continue;
          for (const id of told) {
            const r = recipients.get(id);
            if (r) enqueueFor(alarm, r, 0, r.channels, 'cleared', t);
          }
        }
      }
    }
  }

  /** Stops escalation and cancels what waits to be sent (alarm shelved, or explained by its gateway's alarm). */
  function silence(alarmId: number, reason: string): void {
    db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ?').run(alarmId);
    const cancelled = outbox.cancelPending(alarmId, reason);
    if (cancelled) logger.info({ alarm: alarmId, cancelled, reason }, 'pending notifications cancelled');
  }

  return { plan, silence, fireStep, schedule };
}
export type Planner = ReturnType<typeof createPlanner>;
