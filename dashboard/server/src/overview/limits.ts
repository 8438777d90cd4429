import { aqiLevelOf, rgbHex, type VnAqiTable } from '@tamky/protocol';

/** Level code and colour of an AQI as the API answers them, both from config/limits/vn-aqi.yaml. */
export function aqiLevel(table: VnAqiTable, value: number): { level: string; color: string } {
  const found = aqiLevelOf(table.levels, value);
  return { level: found.id, color: rgbHex(found.rgb) };
}
