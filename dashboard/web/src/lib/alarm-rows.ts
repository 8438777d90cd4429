import type { DeskRow as ProtocolDeskRow } from '@tamky/protocol';
import type { Alarm } from '../api/types';

/** One line at the desk, as `GET /api/alarms/rows` answers it (grouped by the server). */
export type DeskRow = ProtocolDeskRow<Alarm>;

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
