import type { HourBucket } from './hour-buckets';
import { noiseLimitAt, type NoiseLimits } from '@tamky/protocol';

/** Energy average over the hour: LAeq,1h = 10·log10(mean(10^(L/10))). */
export function hourlyLaeq(bucket: HourBucket): number | undefined {
  const acc = bucket.fields.get('laeq');
  if (!acc || acc.n === 0) return undefined;
  return 10 * Math.log10(acc.energy / acc.n);
}

/** `noise_hourly` for the hour starting at `hour` (running value while the hour lasts). */
export function noiseValues(
  limits: NoiseLimits,
  bucket: HourBucket,
  hour: number,
  zone: string | undefined,
  timeZone: string,
): Record<string, number> | undefined {
  const laeq = hourlyLaeq(bucket);
  if (laeq === undefined) return undefined;
  const { limit, night } = noiseLimitAt(limits, zone, hour, timeZone);
  const rounded = Math.round(laeq * 10) / 10;
  return { laeq: rounded, limit, exceedance: Math.round((laeq - limit) * 10) / 10, night: night ? 1 : 0, samples: bucket.seen.size };
}
