/** One VN_AQI level as config/limits/vn-aqi.yaml states it (schema: limits.ts). Plain code, no zod: the web app imports it. */
export interface AqiLevelSpec {
  /** Position on the official scale, 1 = best. */
  level: number;
  /** Stable code used by the API, rules and the web app. */
  id: string;
  /** Inclusive upper bound of the (rounded) AQI. */
  max: number;
  vi: string;
  en: string;
  colour: string;
  rgb: [number, number, number];
  /** Health advice for the public at this level (QĐ 1459/QĐ-TCMT), in both languages. */
  advice?: { vi: string; en: string };
}

/** Level of an AQI (rounded to an integer first; upper bounds inclusive; above the table: the top level). */
export function aqiLevelOf(levels: readonly AqiLevelSpec[], aqi: number): AqiLevelSpec {
  const rounded = Math.round(aqi);
  return levels.find((l) => rounded <= l.max) ?? levels[levels.length - 1]!;
}

export const rgbHex = (c: readonly [number, number, number]) => `#${c.map((x) => x.toString(16).padStart(2, '0')).join('')}`;
