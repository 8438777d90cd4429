import { localTime } from '../../../../protocol/src/local-time';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Tick steps a reader counts in. */
const STEPS = [MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

/** The zone's offset from UTC at `t`, in ms (whole minutes). */
function zoneOffsetMs(t: number, timeZone: string): number {
  const local = localTime(t, timeZone).minuteOfDay;
  const utc = Math.floor((t % DAY) / MIN);
  let diff = (((local - utc) % 1440) + 1440) % 1440;
  if (diff > 840) diff -= 1440;
  return diff * MIN;
}

/**
 * Time-axis ticks for [from, to] on a plot `widthPx` wide: round local times (on the hour, at local midnight),
 * at least `minGapPx` apart. Given to the axis, they spare recharts formatting and measuring a label for
 * every row to find which ones fit.
 */
export function timeTicks(from: number, to: number, widthPx: number, timeZone: string, minGapPx = 80): number[] {
  const span = Math.max(1, to - from);
  const most = Math.max(2, Math.floor(widthPx / minGapPx));
  const step = STEPS.find((s) => span / s <= most) ?? Math.ceil(span / most / DAY) * DAY;
  const offset = zoneOffsetMs(from, timeZone);
  const ticks: number[] = [];
  for (let t = Math.ceil((from + offset) / step) * step - offset; t <= to; t += step) ticks.push(t);
  return ticks;
}
