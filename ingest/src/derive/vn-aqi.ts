import { aqiLevelOf, subIndex, type AqiLevelSpec, type VnAqiTable } from '@tamky/protocol';

export { subIndex };

/**
 * VN_AQI (Quyết định 1459/QĐ-TCMT). Pure functions over the breakpoint table loaded from
 * config/limits/vn-aqi.yaml; concentrations in µg/m³.
 */

/**
 * NowCast over hourly averages, `hourly[0]` = newest hour (c1); `undefined` marks a missing hour.
 * w* = c_min / c_max over the hours present; w = w* if w* > minWeight else minWeight;
 * NowCast = Σ w^(i−1)·c_i / Σ w^(i−1) over the hours present (i keeps its position, so a gap still ages
 * the older hours). No value unless `required` of the `newest` hours are present.
 */
export function nowCast(table: VnAqiTable, hourly: ReadonlyArray<number | undefined>): number | undefined {
  const { hours, minWeight, newest, required } = table.nowcast;
  const window = hourly.slice(0, hours);
  const presentNewest = window.slice(0, newest).filter((c) => c !== undefined).length;
  if (presentNewest < required) return undefined;
  const present = window.filter((c): c is number => c !== undefined);
  if (present.length === 0) return undefined;
  const cMax = Math.max(...present);
  const cMin = Math.min(...present);
  const wStar = cMax > 0 ? cMin / cMax : 1;
  const w = wStar > minWeight ? wStar : minWeight;
  let num = 0;
  let den = 0;
  window.forEach((c, i) => {
    if (c === undefined) return;
    const weight = w ** i;
    num += weight * c;
    den += weight;
  });
  return num / den;
}

export type AqiLevel = AqiLevelSpec;

/** Level of an AQI (upper bounds inclusive; above the table: the top level). */
export const aqiLevel = (table: VnAqiTable, aqi: number): AqiLevel => aqiLevelOf(table.levels, aqi);

export interface HourlyInputs {
  /** Hourly averages, index 0 = the hour being rated (c1), up to `nowcast.hours` entries; undefined = missing. */
  pm25?: ReadonlyArray<number | undefined>;
  pm10?: ReadonlyArray<number | undefined>;
  /** 1-hour averages of the hour being rated. */
  o3?: number;
  no2?: number;
  so2?: number;
  co?: number;
}

export interface HourlyAqi {
  aqi: number;
  level: AqiLevel;
  /** The pollutant whose sub-index is the AQI. */
  dominant: string;
  subIndices: Record<string, number>;
  nowcast: { pm25?: number; pm10?: number };
}

const GAS_COLUMNS: Record<'o3' | 'no2' | 'so2' | 'co', string> = { o3: 'o3_1h', no2: 'no2', so2: 'so2', co: 'co' };

/** Hourly VN_AQI = the largest sub-index, rounded to an integer; undefined unless PM2.5 or PM10 has a NowCast. */
export function hourlyAqi(table: VnAqiTable, inputs: HourlyInputs): HourlyAqi | undefined {
  const subIndices: Record<string, number> = {};
  const nowcast: { pm25?: number; pm10?: number } = {};
  for (const pm of ['pm25', 'pm10'] as const) {
    const series = inputs[pm];
    if (!series) continue;
    const nc = nowCast(table, series);
    if (nc === undefined) continue;
    nowcast[pm] = nc;
    const si = subIndex(table, pm, nc);
    if (si !== undefined) subIndices[pm] = si;
  }
  if (subIndices.pm25 === undefined && subIndices.pm10 === undefined) return undefined;
  for (const gas of ['o3', 'no2', 'so2', 'co'] as const) {
    const c = inputs[gas];
    if (c === undefined) continue;
    const si = subIndex(table, GAS_COLUMNS[gas], c);
    if (si !== undefined) subIndices[gas] = si;
  }
  let dominant = '';
  let max = -1;
  for (const [p, si] of Object.entries(subIndices)) {
    if (si > max) {
      max = si;
      dominant = p;
    }
  }
  const aqi = Math.round(max);
  return { aqi, level: aqiLevel(table, aqi), dominant, subIndices, nowcast };
}
