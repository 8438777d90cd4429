import type { HourBucket } from './hour-buckets';

/**
 * `lighting_energy` per cabinet per hour from the cumulative energy counter (kWh): the last reading of the
 * hour minus the last reading of the previous hour (so consumption between the hours' readings is not
 * lost), or minus the hour's first reading when the previous hour is unknown. A counter that went
 * backwards (reset, meter swapped) falls back to the within-hour difference.
 */
export function lightingValues(bucket: HourBucket, previous: HourBucket | undefined): Record<string, number> | undefined {
  const e = bucket.fields.get('energy');
  const p = bucket.mean('power');
  if (!e && p === undefined) return undefined;
  const values: Record<string, number> = { samples: bucket.seen.size };
  if (e) {
    const prev = previous?.fields.get('energy');
    let kwh = prev && prev.last <= e.last ? e.last - prev.last : e.last - e.first;
    if (kwh < 0) kwh = 0;
    values.energy_kwh = Math.round(kwh * 1000) / 1000;
  }
  if (p !== undefined) values.power_mean = Math.round(p * 10) / 10;
  return values;
}
