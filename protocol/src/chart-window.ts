/**
 * Chart windows matched to pixels: a chart `widthPx` wide cannot show more than one point per pixel, so a history
 * query for it is answered in windows no more numerous than its pixels. Windows are picked from a ladder whose
 * steps from a minute up are whole minutes and from an hour up whole hours, so the stores answer them from
 * their minute or hourly rollups. Zod-free: the web app and the dashboard server share it.
 */
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const CHART_WINDOW_LADDER_MS: readonly number[] = [
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
];

/** Most pixels a chart may declare (a wall screen is at most a few thousand wide). */
export const MAX_CHART_WIDTH_PX = 10_000;

/** How many epoch-aligned windows of `windowMs` hold a point of [from, to] (both inclusive). */
export function windowsInRange(from: number, to: number, windowMs: number): number {
  return Math.floor(to / windowMs) - Math.floor(from / windowMs) + 1;
}

/**
 * The window for a chart `widthPx` wide over [from, to]: `atLeastMs` (the window the caller asked for) when it
 * already gives no more windows than pixels, else the smallest ladder step (then whole days) that does.
 */
export function windowForWidth(from: number, to: number, widthPx: number, atLeastMs = 0): number {
  const px = Math.max(1, Math.floor(widthPx));
  if (atLeastMs > 0 && windowsInRange(from, to, atLeastMs) <= px) return atLeastMs;
  for (const w of CHART_WINDOW_LADDER_MS) if (w >= atLeastMs && windowsInRange(from, to, w) <= px) return w;
  let days = Math.max(1, Math.ceil(atLeastMs / DAY));
  while (windowsInRange(from, to, days * DAY) > px) days++;
  return days * DAY;
}
