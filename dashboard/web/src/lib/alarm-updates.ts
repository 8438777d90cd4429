import type { Alarm } from '../api/types';

/**
 * A list of alarms with a batch of live updates applied in one pass: each updated alarm leaves its old place and,
 * when it still belongs to the list (`keep`), goes to the front (newest first, as the API answers). The latest
 * update of an alarm in the batch wins. Linear in list + batch, however many updates arrive together.
 */
export function applyAlarmUpdates(list: Alarm[], updates: Alarm[], keep: (a: Alarm) => boolean = () => true): Alarm[] {
  if (updates.length === 0) return list;
  const latest = new Map<string, Alarm>();
  for (const a of updates) {
    latest.delete(a.id);
    latest.set(a.id, a);
  }
  const front = [...latest.values()].reverse().filter(keep);
  return [...front, ...list.filter((a) => !latest.has(a.id))];
}
