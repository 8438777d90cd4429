import { HOUR_MS, type DeviceHours } from './hour-buckets';
import type { VnAqiTable } from '@tamky/protocol';
import { hourlyAqi } from './vn-aqi';

/**
 * `vn_aqi` for the hour starting at `hour`. While that hour runs this is the "current hour so far" value:
 * c1 and the gas 1-hour averages are the means of the readings received so far in the hour, c2…c12 the
 * hourly means before it. NowCast needs 2 of the 3 newest hours; when that fails (first hour after a
 * station starts, or after a gap) the value is the sub-index of the current hour's mean alone, marked
 * `nowcast_ok = 0`, so the dashboard has an AQI within seconds of start and can say how it was made.
 */
export function airQualityValues(table: VnAqiTable, hours: DeviceHours, hour: number): Record<string, number> | undefined {
  const n = table.nowcast.hours;
  const series = (field: string) => Array.from({ length: n }, (_, i) => hours.get(hour - i * HOUR_MS)?.mean(field));
  const current = hours.get(hour);
  if (!current) return undefined;
  const inputs = {
    pm25: series('pm25'),
    pm10: series('pm10'),
    o3: current.mean('o3'),
    no2: current.mean('no2'),
    so2: current.mean('so2'),
    co: current.mean('co'),
  };
  let nowcastOk = 1;
  let result = hourlyAqi(table, inputs);
  if (!result) {
    // Fresh start (or a long gap): rate the current hour's own average rather than show nothing.
    nowcastOk = 0;
    result = hourlyAqi(table, { ...inputs, pm25: [inputs.pm25[0], inputs.pm25[0]], pm10: [inputs.pm10[0], inputs.pm10[0]] });
  }
  if (!result) return undefined;
  const values: Record<string, number> = { aqi: result.aqi, level: result.level.level, nowcast_ok: nowcastOk, samples: current.seen.size };
  for (const [p, si] of Object.entries(result.subIndices)) values[`aqi_${p}`] = Math.round(si * 10) / 10;
  if (result.nowcast.pm25 !== undefined) values.pm25_nowcast = Math.round(result.nowcast.pm25 * 100) / 100;
  if (result.nowcast.pm10 !== undefined) values.pm10_nowcast = Math.round(result.nowcast.pm10 * 100) / 100;
  return values;
}
