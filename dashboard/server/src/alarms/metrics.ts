import type Database from 'better-sqlite3';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createMetricsRegistry } from '@tamky/service-kit';

/**
 * The alarms module's own registry (merge it into the server's /metrics with Registry.merge): lifecycle
 * changes, notification outcomes per channel, and the outbox by state, read from the DB at scrape time.
 */
export function createAlarmMetrics(getDb: () => Database.Database | undefined) {
  const registry: Registry = createMetricsRegistry('alarms', false);
  const changes = new Counter({
    name: 'alarms_changes_total',
    help: 'Alarm lifecycle changes',
    labelNames: ['change'],
    registers: [registry],
  });
  const invalid = new Counter({ name: 'alarms_invalid_events_total', help: 'Alarm events dropped as malformed', registers: [registry] });
  const notifications = new Counter({
    name: 'alarms_notifications_total',
    help: 'Notification send outcomes',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'alarms_notification_outbox',
    help: 'Notifications in the outbox by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const db = getDb();
      if (!db?.open) return;
      this.reset();
      try {
        for (const r of db.prepare('SELECT state, COUNT(*) AS n FROM notifications GROUP BY state').all() as Array<{
          state: string;
          n: number;
        }>)
          this.set({ state: r.state }, r.n);
      } catch {
        // table not there yet (notifications not configured)
      }
    },
  });
  new Gauge({
    name: 'alarms_open',
    help: 'Open alarms by severity',
    labelNames: ['severity'],
    registers: [registry],
    collect() {
      const db = getDb();
      if (!db?.open) return;
      this.reset();
      try {
        for (const r of db.prepare("SELECT severity, COUNT(*) AS n FROM alarms WHERE state != 'cleared' GROUP BY severity").all() as Array<{
          severity: string;
          n: number;
        }>)
          this.set({ severity: r.severity }, r.n);
      } catch {
        // before start()
      }
    },
  });
  return { registry, changes, invalid, notifications };
}
export type AlarmMetrics = ReturnType<typeof createAlarmMetrics>;
