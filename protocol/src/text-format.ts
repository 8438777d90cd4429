/**
 * Numbers, clock times and durations as a person reads them in Vietnamese or English, for texts built
 * outside the browser (alarm messages, notifications, exports): "4,2" in Vietnamese, "4.2" in English.
 */
export type TextLang = 'vi' | 'en';
export const TEXT_LOCALES: Record<TextLang, string> = { vi: 'vi-VN', en: 'en-GB' };

const numberFormats = new Map<string, Intl.NumberFormat>();

/** At most `digits` decimals (default: 2 below 100, none from 100 up), no trailing zeros. */
export function formatNumberIn(lang: TextLang, v: number | null | undefined, digits?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : 2);
  const key = `${lang}/${d}`;
  let fmt = numberFormats.get(key);
  if (!fmt) numberFormats.set(key, (fmt = new Intl.NumberFormat(TEXT_LOCALES[lang], { maximumFractionDigits: d })));
  return fmt.format(v);
}

const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** "08:33" in the city's time zone. Formatters are kept: building one costs far more than formatting (ingest's silence checks format every tick). */
export function formatClockIn(lang: TextLang, ts: number, timeZone: string): string {
  const key = `${lang} ${timeZone}`;
  let format = clockFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(TEXT_LOCALES[lang], { timeZone, hour: '2-digit', minute: '2-digit', hour12: false });
    clockFormats.set(key, format);
  }
  return format.format(ts);
}

const UNITS = {
  vi: { s: 'giây', min: 'phút', h: 'giờ', d: 'ngày' },
  en: { s: 's', min: 'min', h: 'h', d: 'd' },
} as const;

/** "7 phút", "2 giờ 5 phút" / "7 min", "2 h 5 min": the largest unit and, below a day, the next one. */
export function formatDurationIn(lang: TextLang, ms: number): string {
  const u = UNITS[lang];
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} ${u.s}`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} ${u.min}`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} ${u.h} ${min % 60} ${u.min}` : `${h} ${u.h}`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} ${u.d} ${h % 24} ${u.h}` : `${d} ${u.d}`;
}
