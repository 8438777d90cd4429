import { systemHealthSchema, systemSourceId, type AlarmEvent } from '@tamky/protocol';

export interface ServiceWatchConfig {
  /** Services (the `service` of their system health reports, e.g. ingest's client id) that must keep reporting. */
  services: string[];
  /** A service silent this long is alarmed. */
  silentAfterS: number;
}

/** The rule id of the alarm; not a rule of config/rules: the detector that judges those runs inside ingest. */
export const SERVICE_SILENT_RULE = 'service-silent';

/**
 * Who notices when ingest is down or stuck: not ingest's own detector, which goes down with it. The dashboard
 * hears every service's system health report (topics.systemHealth); a watched service that stops reporting for
 * `silentAfterS` (since its last report, or since the dashboard started) raises a major system alarm on the
 * dashboard's own alarm desk, through the same notification policy, cleared by the service's next report.
 * A process that hangs stops reporting too; a consumer stuck while the process runs is ingest's lag alarm.
 */
export function createServiceWatch(config: ServiceWatchConfig, now: () => number, apply: (event: AlarmEvent) => void) {
  const startedAt = now();
  const lastReport = new Map<string, number>();
  /** Services alarmed by this process; after a restart an open alarm is cleared by the next report all the same. */
  const silent = new Set<string>();
  const limitMs = config.silentAfterS * 1000;
  const event = (service: string, state: AlarmEvent['state'], since: number, ts: number): AlarmEvent => {
    const silentS = Math.round((ts - since) / 1000);
    return {
      ruleId: SERVICE_SILENT_RULE,
      sourceId: systemSourceId(service, 'reports'),
      state,
      severity: 'major',
      category: 'system',
      value: state === 'raised' ? silentS : null,
      limit: config.silentAfterS,
      unit: 's',
      since,
      ts,
      message:
        state === 'raised'
          ? {
              vi: `${service}: không báo cáo đã ${silentS} giây (dừng hoặc treo); số liệu có thể không được lưu và cảnh báo không được phát hiện`,
              en: `${service}: no report for ${silentS} s (down or hung); readings may not be stored and alarms not detected`,
            }
          : { vi: `${service}: đã báo cáo trở lại`, en: `${service}: reporting again` },
    };
  };
  return {
    /** A system health report arrived (raw payload); reports of services not watched are ignored. */
    onReport(payload: Buffer): void {
      let service: string;
      try {
        service = systemHealthSchema.parse(JSON.parse(payload.toString())).service;
      } catch {
        return;
      }
      if (!config.services.includes(service)) return;
      const at = now();
      const first = !lastReport.has(service);
      lastReport.set(service, at);
      if (silent.delete(service) || first) apply(event(service, 'cleared', at, at));
    },
    /** Called periodically: raises the alarm of each watched service silent too long. */
    tick(): void {
      const at = now();
      for (const service of config.services) {
        const since = lastReport.get(service) ?? startedAt;
        if (at - since < limitMs || silent.has(service)) continue;
        silent.add(service);
        apply(event(service, 'raised', since, at));
      }
    },
  };
}
