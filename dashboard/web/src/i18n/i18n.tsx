import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import { en, vi, type MessageKey } from './dict';

export type Lang = 'vi' | 'en';
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';
const LOCALES: Record<Lang, string> = { vi: 'vi-VN', en: 'en-GB' };

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t(key: MessageKey, params?: Record<string, string | number>): string;
  num(value: number | null | undefined, digits?: number): string;
  dateTime(ts: number): string;
  time(ts: number, seconds?: boolean): string;
  shortDate(ts: number): string;
  /** "3 phút trước" */
  ago(ts: number, now?: number): string;
  /** "5 phút": a duration in the largest whole unit. */
  duration(ms: number): string;
}

export function interpolate(template: string, params?: Record<string, string | number>): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export function createI18n(lang: Lang, setLang: (lang: Lang) => void): I18n {
  const dict = lang === 'vi' ? vi : en;
  const locale = LOCALES[lang];
  const numberFormats = new Map<number, Intl.NumberFormat>();
  // Formatters are made on first use: building one loads locale and time-zone data, and a first render needs few.
  const lazyFmt = <F,>(make: () => F): (() => F) => {
    let made: F | undefined;
    return () => (made ??= make());
  };
  const dateTimeFmt = lazyFmt(() => new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, dateStyle: 'short', timeStyle: 'medium' }));
  const timeFmt = lazyFmt(
    () => new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hour12: false }),
  );
  const timeSecFmt = lazyFmt(
    () =>
      new Intl.DateTimeFormat(locale, {
        timeZone: TIME_ZONE,
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hour12: false,
      }),
  );
  const shortDateFmt = lazyFmt(() => new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, day: '2-digit', month: '2-digit' }));
  const relative = lazyFmt(() => new Intl.RelativeTimeFormat(locale, { numeric: 'always' }));
  const relativeNow = lazyFmt(() => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
  const t: I18n['t'] = (key, params) => interpolate(dict[key] ?? key, params);
  const duration = (ms: number): string => {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return t('unit.seconds', { n: s });
    if (s < 3600) return t('unit.minutes', { n: Math.floor(s / 60) });
    if (s < 86400) return t('unit.hours', { n: Math.floor(s / 3600) });
    return t('unit.days', { n: Math.floor(s / 86400) });
  };
  return {
    lang,
    setLang,
    t,
    num(value, digits = 1) {
      if (value === null || value === undefined || !Number.isFinite(value)) return '—';
      let fmt = numberFormats.get(digits);
      if (!fmt) {
        fmt = new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
        numberFormats.set(digits, fmt);
      }
      return fmt.format(value);
    },
    dateTime: (ts) => dateTimeFmt().format(ts),
    time: (ts, seconds = false) => (seconds ? timeSecFmt : timeFmt)().format(ts),
    shortDate: (ts) => shortDateFmt().format(ts),
    ago(ts, now = Date.now()) {
      const s = Math.round((ts - now) / 1000);
      const abs = Math.abs(s);
      if (abs < 5) return relativeNow().format(0, 'second');
      if (abs < 60) return relative().format(s, 'second');
      if (abs < 3600) return relative().format(Math.trunc(s / 60), 'minute');
      if (abs < 86400) return relative().format(Math.trunc(s / 3600), 'hour');
      return relative().format(Math.trunc(s / 86400), 'day');
    },
    duration,
  };
}

const I18nContext = createContext<I18n | null>(null);

function initialLang(): Lang {
  const fromQuery = new URLSearchParams(location.search).get('lang');
  if (fromQuery === 'en' || fromQuery === 'vi') return fromQuery;
  try {
    const stored = localStorage.getItem('lang');
    if (stored === 'en' || stored === 'vi') return stored;
  } catch {
    // storage may be disabled on kiosk browsers
  }
  return 'vi';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const value = useMemo(
    () =>
      createI18n(lang, (next) => {
        try {
          localStorage.setItem('lang', next);
        } catch {
          // ignore
        }
        document.documentElement.lang = next;
        setLangState(next);
      }),
    [lang],
  );
  document.documentElement.lang = lang;
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error('useI18n outside I18nProvider');
  return ctx;
}
