import type { VnAqiTable } from './limits';

/**
 * Sub-index of one pollutant (Quyết định 1459/QĐ-TCMT): linear between the breakpoints BP_i ≤ C ≤ BP_{i+1}
 * of the table loaded from config/limits/vn-aqi.yaml, concentrations in µg/m³. A concentration exactly at a
 * breakpoint gets that breakpoint's index. Above the last breakpoint the index is capped at the table's top
 * (500: "beyond the index"). Hourly (ingest) and daily (reports) VN_AQI share it.
 */
export function subIndex(table: VnAqiTable, pollutant: string, c: number): number | undefined {
  const bps = table.breakpoints[pollutant];
  if (!bps || !Number.isFinite(c) || c < 0) return undefined;
  for (let i = 0; i + 1 < bps.length; i++) {
    const lo = bps[i]!;
    const hi = bps[i + 1]!;
    if (c >= lo && c <= hi) {
      const iLo = table.index[i]!;
      const iHi = table.index[i + 1]!;
      return ((iHi - iLo) / (hi - lo)) * (c - lo) + iLo;
    }
  }
  return table.index[bps.length - 1]!;
}
