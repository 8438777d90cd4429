// Deep relative import on purpose (as lib/fields.ts): plain code, while the protocol package entry pulls in zod.
import { aqiLevelOf, type AqiLevelSpec } from '../../../../protocol/src/aqi-levels';

/** A VN_AQI level as served by /api/limits (config/limits/vn-aqi.yaml: id, names, colour), with its icon. */
export interface AqiBand extends AqiLevelSpec {
  icon: string;
}

/** Icons by position on the scale (best first), so colour is never the only signal. */
const ICONS = ['☺', '◔', '◑', '◕', '⚠', '☠'];

export function aqiBand(levels: readonly AqiLevelSpec[], value: number): AqiBand {
  const level = aqiLevelOf(levels, value);
  return { ...level, icon: ICONS[Math.min(levels.indexOf(level), ICONS.length - 1)]! };
}

export const rgbCss = ([r, g, b]: [number, number, number]) => `rgb(${r}, ${g}, ${b})`;

function channel(c: number): number {
  const s = c / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}
export function luminance([r, g, b]: [number, number, number]): number {
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}
export function contrast(a: [number, number, number], b: [number, number, number]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
/** Black or white text, whichever contrasts more (both pass WCAG AA 4.5:1 on every official colour). */
export function textOn(rgb: [number, number, number]): string {
  return contrast(rgb, [0, 0, 0]) >= contrast(rgb, [255, 255, 255]) ? '#000' : '#fff';
}
