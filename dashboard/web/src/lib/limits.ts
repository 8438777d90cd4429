import type { LimitsFile } from '../api/types';

/**
 * Reads limit lines out of /api/limits without assuming more than the data files' own shapes:
 * QCVN 05 (`{edition, limits: {pm25: {'24h': 50}}}`) under `air` or `qcvn05`, QCVN 26 (`{edition, zones:
 * {special: {day, night}}}`) under `noise`. Anything missing simply draws no line.
 */
type AirFile = { edition?: string; limits?: Record<string, Record<string, number>> };
type NoiseFile = { edition?: string; zones?: Record<string, { day?: number; night?: number }> };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function airFile(limits: LimitsFile | null): AirFile | null {
  if (!limits) return null;
  for (const c of [limits.air, limits.qcvn05, isObj(limits.aqi) ? limits.aqi.qcvn05 : undefined]) {
    if (isObj(c) && isObj(c.limits)) return c as AirFile;
  }
  return null;
}

/** Limit lines for a pollutant, shortest averaging period first (charts show hourly-ish means). */
export function airLimitLines(limits: LimitsFile | null, pollutant: string): Array<{ value: number; label: string }> {
  const file = airFile(limits);
  const entry = file?.limits?.[pollutant];
  if (!entry) return [];
  const edition = file?.edition ?? 'QCVN 05';
  const period = ['1h', '8h', '24h'].find((p) => typeof entry[p] === 'number');
  return period ? [{ value: entry[period]!, label: `${edition} ${period}` }] : [];
}

export function noiseLimitLines(limits: LimitsFile | null, zoneNames: Record<string, string>, periodNames: { day: string; night: string }): Array<{ value: number; label: string }> {
  const noise = limits && isObj(limits.noise) ? (limits.noise as NoiseFile) : null;
  if (!noise?.zones) return [];
  const out: Array<{ value: number; label: string }> = [];
  for (const [zone, v] of Object.entries(noise.zones)) {
    if (typeof v.day === 'number') out.push({ value: v.day, label: `${zoneNames[zone] ?? zone} ${periodNames.day}` });
    if (typeof v.night === 'number') out.push({ value: v.night, label: `${zoneNames[zone] ?? zone} ${periodNames.night}` });
  }
  return out;
}
