/** Local wall-clock time in the city's time zone (Asia/Ho_Chi_Minh has no DST, but the zone is data). */
export interface LocalTime {
  year: number;
  month: number; // 1..12
  day: number;
  /** Fractional hour 0..24. */
  hour: number;
  /** Whole minutes since local midnight, 0..1439. */
  minuteOfDay: number;
  /** 0 = Sunday. */
  weekday: number;
  /** Days since 1970-01-01 in local time: a key for "the same local day". */
  dayIndex: number;
  dayOfYear: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

let memo: { t: number; timeZone: string; value: LocalTime } | undefined;

export function localTime(t: number, timeZone: string): LocalTime {
  // Callers ask for the same instant many times in a row; Intl formatting is the slow part.
  if (memo && memo.t === t && memo.timeZone === timeZone) return memo.value;
  const value = computeLocalTime(t, timeZone);
  memo = { t, timeZone, value };
  return value;
}

function computeLocalTime(t: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const year = parts.year!;
  const month = parts.month!;
  const day = parts.day!;
  const hours = parts.hour! % 24;
  const dayIndex = Math.floor(Date.UTC(year, month - 1, day) / 86_400_000);
  const hour = hours + parts.minute! / 60 + (parts.second! + (((t % 1000) + 1000) % 1000) / 1000) / 60 / 60;
  return {
    year,
    month,
    day,
    hour,
    minuteOfDay: hours * 60 + parts.minute!,
    weekday: (dayIndex + 4) % 7,
    dayIndex,
    dayOfYear: dayIndex - Math.floor(Date.UTC(year, 0, 1) / 86_400_000) + 1,
  };
}

/** Hour of day (0–23) at `t` in an IANA time zone. */
export const localHour = (t: number, timeZone: string): number => Math.floor(localTime(t, timeZone).minuteOfDay / 60);

/** True when `hour` lies in [from, to) on a 24 h clock, windows crossing midnight included. */
export function hourInWindow(hour: number, from: number, to: number): boolean {
  return from <= to ? hour >= from && hour < to : hour >= from || hour < to;
}
