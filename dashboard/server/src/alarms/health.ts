import type Database from 'better-sqlite3';
import type { Severity } from '@tamky/protocol';

export type Priority = 'high' | 'medium' | 'low';

/**
 * How the city measures its alarm system (ISA-18.2 / EEMUA 191). The defaults are the standards' usual
 * figures; a city may set its own in the alarms module config.
 */
export interface HealthSettings {
  /** Operator positions sharing the alarm load. */
  positions: number;
  /** More alarms than this per position in 10 minutes is a flood. */
  floodPer10Min: number;
  /** This many annunciations of one (rule, source) within `chatterWindowS` make it chattering. */
  chatterCount: number;
  chatterWindowS: number;
  /** Cleared by itself within this many seconds of annunciating: fleeting. */
  fleetingS: number;
  /** Open longer than this: stale. */
  staleHours: number;
  /** Severity → annunciated priority. */
  priorities: Record<Severity, Priority>;
  /** The guide's share of each priority. */
  priorityGuide: Record<Priority, number>;
}

export const DEFAULT_HEALTH: HealthSettings = {
  positions: 1,
  floodPer10Min: 10,
  chatterCount: 3,
  chatterWindowS: 60,
  fleetingS: 60,
  staleHours: 24,
  priorities: { critical: 'high', major: 'medium', minor: 'low', warning: 'low' },
  priorityGuide: { low: 0.8, medium: 0.15, high: 0.05 },
};

const TEN_MIN = 600_000;
const DAY = 86_400_000;

interface Annunciation {
  alarmId: number;
  ts: number;
  ruleId: string;
  sourceId: string;
  severity: Severity;
}

const topBy = (items: Annunciation[], key: (a: Annunciation) => string, total: number) =>
  [...items.reduce((m, a) => m.set(key(a), (m.get(key(a)) ?? 0) + 1), new Map<string, number>())]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([id, count]) => ({ id, count, share: total ? count / total : 0 }));

/**
 * Alarm-system figures over [from, to). An annunciation is an alarm raised or reopened on its own: those
 * explained by their gateway's alarm, grouped into a burst or shelved are counted apart as `suppressed`.
 */
export function computeAlarmHealth(
  db: Database.Database,
  q: { from: number; to: number; now: number; settings?: Partial<HealthSettings> },
) {
  const s = { ...DEFAULT_HEALTH, ...q.settings };
  const rows = db
    .prepare<
      [number, number],
      { alarm_id: number; ts: number; user: string; action: string; detail: string; rule_id: string; source_id: string }
    >(
      `SELECT t.alarm_id, t.ts, t.user, t.action, t.detail, a.rule_id, a.source_id FROM alarm_audit t JOIN alarms a ON a.id = t.alarm_id
       WHERE t.ts >= ? AND t.ts < ? AND t.action IN ('raised', 'reopened', 'cleared') ORDER BY t.id`,
    )
    .all(q.from, q.to + s.fleetingS * 1000);
  const annunciations: Annunciation[] = [];
  const suppressed = { gateway: 0, group: 0, shelved: 0 };
  const clears = new Map<number, number[]>();
  for (const r of rows) {
    const d = JSON.parse(r.detail) as { severity?: Severity; correlated?: keyof typeof suppressed; shelf?: number };
    if (r.action === 'cleared') {
      // Only the condition clearing itself makes an alarm fleeting; a person resolving it quickly does not.
      if (r.user === 'system') clears.set(r.alarm_id, [...(clears.get(r.alarm_id) ?? []), r.ts]);
      continue;
    }
    if (r.ts >= q.to) continue;
    const why = d.correlated ?? (d.shelf !== undefined ? 'shelved' : undefined);
    if (why) {
      suppressed[why]++;
      continue;
    }
    annunciations.push({ alarmId: r.alarm_id, ts: r.ts, ruleId: r.rule_id, sourceId: r.source_id, severity: d.severity ?? 'minor' });
  }
  const total = annunciations.length;
  const periods = Math.max(1, Math.ceil((q.to - q.from) / TEN_MIN));
  const buckets = new Array<number>(periods).fill(0);
  for (const a of annunciations) buckets[Math.floor((a.ts - q.from) / TEN_MIN)]!++;
  let peakIndex = 0;
  buckets.forEach((n, i) => n > buckets[peakIndex]! && (peakIndex = i));
  const floodPeriods = buckets.filter((n) => n / s.positions > s.floodPer10Min).length;

  // Chattering: `chatterCount` annunciations of one (rule, source) inside the window.
  const bySource = new Map<string, Annunciation[]>();
  for (const a of annunciations) bySource.set(`${a.ruleId}|${a.sourceId}`, [...(bySource.get(`${a.ruleId}|${a.sourceId}`) ?? []), a]);
  const chattering = [...bySource.values()]
    .filter((list) =>
      list.some((a, i) => i + s.chatterCount - 1 < list.length && list[i + s.chatterCount - 1]!.ts - a.ts <= s.chatterWindowS * 1000),
    )
    .map((list) => ({ ruleId: list[0]!.ruleId, sourceId: list[0]!.sourceId, count: list.length }))
    .sort((a, b) => b.count - a.count);
  const fleeting = annunciations.filter((a) =>
    (clears.get(a.alarmId) ?? []).some((t) => t >= a.ts && t - a.ts <= s.fleetingS * 1000),
  ).length;

  const end = Math.min(q.to, q.now);
  const staleRows = db
    .prepare<[number, number], { id: number; rule_id: string; source_id: string; opened_at: number }>(
      `SELECT id, rule_id, source_id, opened_at FROM alarms WHERE parent_id IS NULL AND opened_at <= ? AND (cleared_at IS NULL OR cleared_at > ?) ORDER BY opened_at`,
    )
    .all(end - s.staleHours * 3_600_000, end);

  const mix = { high: 0, medium: 0, low: 0 };
  for (const a of annunciations) mix[s.priorities[a.severity]]++;
  const share = (n: number) => (total ? n / total : 0);

  return {
    from: q.from,
    to: q.to,
    settings: s,
    total,
    suppressed,
    perPosition: {
      per10Min: total / periods / s.positions,
      perDay: total / ((q.to - q.from) / DAY) / s.positions,
    },
    periods,
    floodPeriods,
    floodShare: floodPeriods / periods,
    peak: { count: buckets[peakIndex]!, start: q.from + peakIndex * TEN_MIN },
    badActors: { rules: topBy(annunciations, (a) => a.ruleId, total), sources: topBy(annunciations, (a) => a.sourceId, total) },
    chattering,
    fleeting,
    stale: staleRows.map((r) => ({ id: String(r.id), ruleId: r.rule_id, sourceId: r.source_id, openedAt: r.opened_at })),
    priorityMix: (['low', 'medium', 'high'] as const).map((p) => ({
      priority: p,
      count: mix[p],
      share: share(mix[p]),
      guide: s.priorityGuide[p],
    })),
  };
}
export type AlarmHealth = ReturnType<typeof computeAlarmHealth>;
