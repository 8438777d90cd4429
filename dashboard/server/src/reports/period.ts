import { localTime, type ReportKind } from '@tamky/protocol';

/** Epoch ms of local midnight starting the calendar day y-m-d in `timeZone` (any offset, DST included). */
export function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d);
  let t = wall;
  // The offset at the guess, then at the corrected instant: two steps settle across a DST change.
  for (let i = 0; i < 2; i++) {
    const lt = localTime(t, timeZone);
    const asUtc = Date.UTC(lt.year, lt.month - 1, lt.day) + Math.round(lt.hour * 3_600_000);
    t -= asUtc - wall;
  }
  return t;
}

export interface ReportPeriod {
  from: number;
  to: number;
  /** Local days of the period, "YYYY-MM-DD", with their [from, to). */
  days: Array<{ date: string; from: number; to: number }>;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The local days of a "YYYY-MM-DD" (daily) or "YYYY-MM" (monthly) period; the caller checked its form. */
export function reportPeriod(kind: ReportKind, period: string, timeZone: string): ReportPeriod {
  const [y, m, d] = period.split('-').map(Number) as [number, number, number?];
  const first = kind === 'daily' ? d! : 1;
  const count = kind === 'daily' ? 1 : new Date(Date.UTC(y, m, 0)).getUTCDate();
  const days: ReportPeriod['days'] = [];
  for (let i = 0; i < count; i++) {
    const day = first + i;
    const next = new Date(Date.UTC(y, m - 1, day + 1));
    days.push({
      date: `${y}-${pad(m)}-${pad(day)}`,
      from: localMidnight(y, m, day, timeZone),
      to: localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone),
    });
  }
  return { from: days[0]!.from, to: days[days.length - 1]!.to, days };
}

/** The period before the local day or month containing `t` (what a delivery after midnight reports on). */
export function previousPeriod(kind: ReportKind, t: number, timeZone: string): string {
  const lt = localTime(t, timeZone);
  if (kind === 'daily') {
    const prev = new Date(Date.UTC(lt.year, lt.month - 1, lt.day - 1));
    return `${prev.getUTCFullYear()}-${pad(prev.getUTCMonth() + 1)}-${pad(prev.getUTCDate())}`;
  }
  const prev = new Date(Date.UTC(lt.year, lt.month - 2, 1));
  return `${prev.getUTCFullYear()}-${pad(prev.getUTCMonth() + 1)}`;
}
