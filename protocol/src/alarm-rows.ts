import { SEVERITIES, type Severity } from './alarms';

/** What grouping needs of an alarm (the API's `Alarm` has it). */
export interface RowAlarm {
  id: string;
  parentId: string | null;
  groupId: string | null;
  severity: Severity;
  state: string;
  lastSeen: number;
}

/** Related alarms a desk line carries for its detail (the counts say how many in all). */
export const ALARM_ROW_RELATED = 50;

/**
 * One line at the desk: an alarm with the alarms it explains (a gateway's silent devices) and, for a burst of one rule,
 * the other members of its group (the worst first, at most `ALARM_ROW_RELATED` of each). `ids` are every alarm the line
 * stands for, so a bulk action on the line acts on all of them.
 */
export interface DeskRow<A extends RowAlarm = RowAlarm> {
  key: string;
  lead: A;
  members: A[];
  children: A[];
  memberCount: number;
  childCount: number;
  ids: string[];
}

const RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;
const worse = (a: RowAlarm, b: RowAlarm) =>
  RANK[a.severity] - RANK[b.severity] || Number(a.state === 'cleared') - Number(b.state === 'cleared') || b.lastSeen - a.lastSeen;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Open before cleared, then by severity, then the newest; children under their parent, bursts folded. */
export function deskRows<A extends RowAlarm>(alarms: A[], related = ALARM_ROW_RELATED): DeskRow<A>[] {
  const byId = new Map(alarms.map((a) => [a.id, a]));
  const children = new Map<string, A[]>();
  const groups = new Map<string, A[]>();
  for (const a of alarms) {
    // Appended in place: a storm's burst group has thousands of members.
    if (a.parentId && byId.has(a.parentId)) push(children, a.parentId, a);
    else push(groups, a.groupId ?? a.id, a);
  }
  const rows: DeskRow<A>[] = [];
  for (const [key, list] of groups) {
    const sorted = [...list].sort(worse);
    const lead = sorted[0]!;
    const kids = list.flatMap((a) => children.get(a.id) ?? []);
    rows.push({
      key,
      lead,
      members: sorted.slice(1, 1 + related),
      children: kids.slice(0, related),
      memberCount: sorted.length - 1,
      childCount: kids.length,
      ids: [...list, ...kids].map((a) => a.id),
    });
  }
  return rows.sort(
    (a, b) =>
      Number(a.lead.state === 'cleared') - Number(b.lead.state === 'cleared') ||
      RANK[a.lead.severity] - RANK[b.lead.severity] ||
      b.lead.lastSeen - a.lead.lastSeen,
  );
}
