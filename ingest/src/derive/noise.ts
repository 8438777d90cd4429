import type { HourBucket } from './hour-buckets';
import type { NoiseLimits } from './limits';

/** Local hour 0..23 of `ts` in `timeZone`. */
export function localHour(ts: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return Number(f.format(ts));
}
const formatters = new Map<string, Intl.DateTimeFormat>();

/** QCVN 26 limit for a zone at the local hour of `ts`. */
export function noiseLimit(limits: NoiseLimits, zone: string | undefined, ts: number, timeZone: string): { limit: number; night: boolean } {
  const z = limits.zones[zone ?? limits.defaultZone] ?? limits.zones[limits.defaultZone]!;
  const h = localHour(ts, timeZone);
  const day = limits.dayStartHour < limits.nightStartHour ? h >= limits.dayStartHour && h < limits.nightStartHour : h >= limits.dayStartHour || h < limits.nightStartHour;
  return { limit: day ? z.day : z.night, night: !day };
}

/** Energy average over the hour: LAeq,1h = 10·log10(mean(10^(L/10))). */
export function hourlyLaeq(bucket: HourBucket): number | undefined {
  const acc = bucket.fields.get('laeq');
  if (!acc || acc.n === 0) return undefined;
  return 10 * Math.log10(acc.energy / acc.n);
}

/** `noise_hourly` for the hour starting at `hour` (running value while the hour lasts). */
export function noiseValues(limits: NoiseLimits, bucket: HourBucket, hour: number, zone: string | undefined, timeZone: string): Record<string, number> | undefined {
  const laeq = hourlyLaeq(bucket);
  if (laeq === undefined) return undefined;
  const { limit, night } = noiseLimit(limits, zone, hour, timeZone);
  const rounded = Math.round(laeq * 10) / 10;
  return { laeq: rounded, limit, exceedance: Math.round((laeq - limit) * 10) / 10, night: night ? 1 : 0, samples: bucket.seen.size };
}
