import type { LimitsFile } from '../api/types';

/** Limit lines for a pollutant (QCVN 05), shortest averaging period first (charts show hourly-ish means). */
export function airLimitLines(limits: LimitsFile | null, pollutant: string): Array<{ value: number; label: string }> {
  const entry = limits?.air.limits[pollutant];
  if (!limits || !entry) return [];
  const period = ['1h', '8h', '24h'].find((p) => typeof entry[p] === 'number');
  return period ? [{ value: entry[period]!, label: `${limits.air.edition} ${period}` }] : [];
}

/** Day and night limit lines per zone (QCVN 26). */
export function noiseLimitLines(
  limits: LimitsFile | null,
  zoneNames: Record<string, string>,
  periodNames: { day: string; night: string },
): Array<{ value: number; label: string }> {
  if (!limits) return [];
  const out: Array<{ value: number; label: string }> = [];
  for (const [zone, v] of Object.entries(limits.noise.zones)) {
    out.push({ value: v.day, label: `${zoneNames[zone] ?? zone} ${periodNames.day}` });
    out.push({ value: v.night, label: `${zoneNames[zone] ?? zone} ${periodNames.night}` });
  }
  return out;
}
