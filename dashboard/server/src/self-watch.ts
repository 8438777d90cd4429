import type { SystemHealth } from '@tamky/protocol';
import { diskSpace } from '@tamky/service-kit';

/** The service name of the dashboard's reports: processes sharing one state DB share its volume, hence its alarm. */
export const DASHBOARD_SERVICE = 'dashboard';

/**
 * The dashboard's own health for the `system` alarm rules: how full the volume under its state DB is (users,
 * alarms, the notification outbox, audit: a full disk there stops sign-in and alarm handling).
 */
export function dashboardSelfReport(stateDb: string, ts: number): SystemHealth {
  const d = diskSpace(stateDb);
  return {
    service: DASHBOARD_SERVICE,
    ts,
    samples:
      d.free !== null && d.usedPercent !== null
        ? [
            {
              check: 'disk_used_percent',
              subject: 'state-db',
              value: d.usedPercent,
              detail: { path: stateDb, freeMb: Math.round(d.free / 1048576) },
            },
          ]
        : [],
  };
}
