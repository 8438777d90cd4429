/** Local wall-clock time in the city's time zone (Asia/Ho_Chi_Minh has no DST, but the zone is data). */
export interface LocalTime {
  year: number;
  month: number; // 1..12
  day: number;
  /** Fractional hour 0..24. */
  hour: number;
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
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

let memo: { t: number; timeZone: string; value: LocalTime } | undefined;

export function localTime(t: number, timeZone: string): LocalTime {
  // Signal models ask for the same instant many times per update; Intl formatting is the slow part.
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
  const dayIndex = Math.floor(Date.UTC(year, month - 1, day) / 86_400_000);
  const hour = parts.hour! + parts.minute! / 60 + (parts.second! + (t % 1000) / 1000) / 60 / 60;
  return {
    year,
    month,
    day,
    hour,
    weekday: (dayIndex + 4) % 7,
    dayIndex,
    dayOfYear: dayIndex - Math.floor(Date.UTC(year, 0, 1) / 86_400_000) + 1,
  };
}

/** Piecewise-linear curve over a day; points are [hour, value], sorted, first at 0 and last at 24. */
export function dailyCurve(points: ReadonlyArray<readonly [number, number]>, hour: number): number {
  const h = ((hour % 24) + 24) % 24;
  for (let i = 1; i < points.length; i++) {
    const [h0, v0] = points[i - 1]!;
    const [h1, v1] = points[i]!;
    if (h <= h1) return v0 + ((v1 - v0) * (h - h0)) / (h1 - h0 || 1);
  }
  return points[points.length - 1]![1];
}
