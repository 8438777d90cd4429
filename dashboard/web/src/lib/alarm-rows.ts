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

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Open before cleared, then by severity, then the newest; children under their parent, bursts folded. */
export function deskRows(alarms: Alarm[]): DeskRow[] {
  const byId = new Map(alarms.map((a) => [a.id, a]));
  const children = new Map<string, Alarm[]>();
  const groups = new Map<string, Alarm[]>();
  for (const a of alarms) {
    // Appended in place: a storm's burst group has thousands of members.
    if (a.parentId && byId.has(a.parentId)) push(children, a.parentId, a);
    else push(groups, a.groupId ?? a.id, a);
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

/** The first `n` of `xs` in `order`, without sorting all of them. */
export function firstSorted<T>(xs: T[], n: number, order: (a: T, b: T) => number): T[] {
  const best: T[] = [];
  if (n <= 0) return best;
  for (const x of xs) {
    if (best.length === n && order(x, best[n - 1]!) >= 0) continue;
    let i = best.length;
    while (i > 0 && order(x, best[i - 1]!) < 0) i--;
    best.splice(i, 0, x);
    if (best.length > n) best.pop();
  }
  return best;
}
