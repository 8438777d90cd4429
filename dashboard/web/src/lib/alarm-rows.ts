import type { Alarm } from '../api/types';
import { SEVERITY_RANK } from './severity';

/**
 * One line at the desk: an alarm with the alarms it explains (a gateway's silent devices) and, for a
 * burst of one rule, the other members of its group. `ids` are every alarm the line stands for, so a
 * bulk action on the line acts on all of them.
 */
export interface DeskRow {
  key: string;
  lead: Alarm;
  members: Alarm[];
  children: Alarm[];
  ids: string[];
}

const worse = (a: Alarm, b: Alarm) =>
  SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
  Number(a.state === 'cleared') - Number(b.state === 'cleared') ||
  b.lastSeen - a.lastSeen;

/** Open before cleared, then by severity, then the newest; children under their parent, bursts folded. */
export function deskRows(alarms: Alarm[]): DeskRow[] {
  const byId = new Map(alarms.map((a) => [a.id, a]));
  const children = new Map<string, Alarm[]>();
  const groups = new Map<string, Alarm[]>();
  for (const a of alarms) {
    if (a.parentId && byId.has(a.parentId)) children.set(a.parentId, [...(children.get(a.parentId) ?? []), a]);
    else {
      const key = a.groupId ?? a.id;
      groups.set(key, [...(groups.get(key) ?? []), a]);
    }
  }
  const rows: DeskRow[] = [];
  for (const [key, list] of groups) {
    const sorted = [...list].sort(worse);
    const lead = sorted[0]!;
    const kids = list.flatMap((a) => children.get(a.id) ?? []);
    rows.push({ key, lead, members: sorted.slice(1), children: kids, ids: [...list, ...kids].map((a) => a.id) });
  }
  return rows.sort(
    (a, b) =>
      Number(a.lead.state === 'cleared') - Number(b.lead.state === 'cleared') ||
      SEVERITY_RANK[a.lead.severity] - SEVERITY_RANK[b.lead.severity] ||
      b.lead.lastSeen - a.lead.lastSeen,
  );
}
