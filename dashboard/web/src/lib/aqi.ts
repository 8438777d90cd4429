import type { AqiLevel } from '../api/types';

/** VN_AQI levels and their official colours (Quyết định 1459/QĐ-TCMT). */
export interface AqiBand {
  level: AqiLevel;
  max: number;
  rgb: [number, number, number];
  icon: string;
}

export const AQI_BANDS: AqiBand[] = [
  { level: 'good', max: 50, rgb: [0, 228, 0], icon: '☺' },
  { level: 'moderate', max: 100, rgb: [255, 255, 0], icon: '◔' },
  { level: 'poor', max: 150, rgb: [255, 126, 0], icon: '◑' },
  { level: 'bad', max: 200, rgb: [255, 0, 0], icon: '◕' },
  { level: 'very_bad', max: 300, rgb: [143, 63, 151], icon: '⚠' },
  { level: 'hazardous', max: Infinity, rgb: [126, 0, 35], icon: '☠' },
];

export function aqiBand(value: number): AqiBand {
  const rounded = Math.round(value);
  return AQI_BANDS.find((b) => rounded <= b.max) ?? AQI_BANDS[AQI_BANDS.length - 1]!;
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
