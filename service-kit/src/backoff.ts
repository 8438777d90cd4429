/**
 * Exponential backoff with full jitter (AWS architecture blog): the delay for attempt n is uniform in
 * [0, min(max, base·2^n)], so a city's gateways coming back after an outage do not reconnect in step.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}
