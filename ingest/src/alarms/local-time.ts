const formatters = new Map<string, Intl.DateTimeFormat>();

/** Hour of day (0–23) at `epochMs` in an IANA time zone; noise limits and quiet hours follow local time. */
export function localHour(epochMs: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return Number(f.format(epochMs)) % 24;
}

/** True when `hour` lies in [from, to) on a 24 h clock, windows crossing midnight included. */
export function hourInWindow(hour: number, from: number, to: number): boolean {
  return from <= to ? hour >= from && hour < to : hour >= from || hour < to;
}
