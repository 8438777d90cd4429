import type Database from 'better-sqlite3';
import type { AlarmCounts } from '../module';

export const NO_ALARMS: AlarmCounts = { critical: 0, major: 0, minor: 0, warning: 0 };

/** Open alarms per severity in a ward from an `alarms` table (state, severity, ward columns), if the alarms module created one. */
export function countAlarmsTable(db: Database.Database, ward: string): AlarmCounts {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarms'").get();
  if (!exists) return { ...NO_ALARMS };
  try {
    const rows = db
      .prepare("SELECT severity, COUNT(*) AS n FROM alarms WHERE ward = ? AND state != 'cleared' GROUP BY severity")
      .all(ward) as Array<{ severity: string; n: number }>;
    const counts = { ...NO_ALARMS };
    for (const r of rows) if (r.severity in counts) counts[r.severity as keyof AlarmCounts] = r.n;
    return counts;
  } catch {
    return { ...NO_ALARMS };
  }
}
