import { z } from 'zod';
import { ID_HINT, ID_PATTERN } from './ids';

/**
 * City reports (`GET /api/reports/{daily|monthly}`): one answer shape for the JSON API, the printable page,
 * the PDF, the XLSX workbook and the e-mailed copies. Periods are local calendar days and months of the city.
 */

export const REPORT_KINDS = ['daily', 'monthly'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

const DAY = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export const REPORT_FORMATS = ['json', 'pdf', 'xlsx'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Query of `GET /api/reports/{kind}`; `period` is checked against the kind by `periodPatternOf`. */
export const reportQuerySchema = z.object({
  period: z.string(),
  ward: z.string().regex(ID_PATTERN, ID_HINT).optional(),
  format: z.enum(REPORT_FORMATS).default('json'),
  lang: z.enum(['vi', 'en']).default('vi'),
});
export type ReportQuery = z.output<typeof reportQuerySchema>;

/** A period string of its kind: "2026-11-03" (daily, a real calendar day) or "2026-11" (monthly). */
export function isReportPeriod(kind: ReportKind, period: string): boolean {
  if (kind === 'monthly') return MONTH.test(period);
  const m = DAY.exec(period);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

const count = z.number().int().nonnegative();
const rgb = z.tuple([z.number().int(), z.number().int(), z.number().int()]);

export const reportSchema = z.object({
  kind: z.enum(REPORT_KINDS),
  period: z.string(),
  /** Local midnight at the start of the period and at its end (epoch ms; [from, to)). */
  from: z.number(),
  to: z.number(),
  timeZone: z.string(),
  days: z.number().int().positive(),
  /** Ward of the report; absent: the city (the wards the caller may read). */
  ward: z.string().optional(),
  generatedAt: z.number(),
  wards: z.array(z.object({ id: z.string(), name: z.string() })),
  air: z.object({
    /** The VN_AQI levels as configured (config/limits/vn-aqi.yaml), best first, with their official colours. */
    levels: z.array(z.object({ id: z.string(), vi: z.string(), en: z.string(), max: z.number(), rgb })),
    /**
     * Per ward: days at each level. A station's daily VN_AQI is the largest sub-index of its 24-hour averages
     * (means of its hourly averages; a pollutant counts when three quarters of the day's hours have one, and
     * PM2.5 or PM10 must); the ward's day is its worst station's.
     */
    wards: z.array(
      z.object({
        ward: z.string(),
        daysByLevel: z.record(z.string(), count),
        noDataDays: count,
        /** Highest daily VN_AQI of the period; null without data. */
        maxAqi: z.number().nullable(),
        /** Per local day (YYYY-MM-DD) of the period: the ward's daily VN_AQI and its level id, or null. */
        daily: z.array(z.object({ date: z.string(), aqi: z.number().nullable(), level: z.string().nullable() })),
      }),
    ),
  }),
  noise: z.object({
    edition: z.string(),
    /** Per ward, QCVN 26 zone and time of day: hours with an hourly LAeq, hours above the limit, the loudest hour. */
    rows: z.array(
      z.object({
        ward: z.string(),
        zone: z.string(),
        period: z.enum(['day', 'night']),
        limit: z.number(),
        hours: count,
        exceededHours: count,
        maxLaeq: z.number().nullable(),
      }),
    ),
  }),
  flood: z.object({
    /**
     * Water above the station's alarm level 1 (báo động 1), judged per minute from the rollups; where minute
     * rollups have passed their retention (store/README.md), per hour from the hourly maxima, on whole hours.
     */
    events: z.array(
      z.object({
        ward: z.string(),
        device: z.string(),
        name: z.string(),
        start: z.number(),
        end: z.number(),
        durationMin: z.number(),
        peakM: z.number(),
        /** Highest alarm level (1..3) the water reached. */
        alarmLevel: z.number().int().min(1).max(3),
      }),
    ),
  }),
  alarms: z.object({
    /** Alarms opened in the period, by severity, and how long they waited for an acknowledgement (minutes). */
    bySeverity: z.array(
      z.object({
        severity: z.string(),
        count,
        acknowledged: count,
        meanAckMin: z.number().nullable(),
        medianAckMin: z.number().nullable(),
        maxAckMin: z.number().nullable(),
      }),
    ),
  }),
  lighting: z.object({
    /** Per ward: lamp-failure alarms opened, distinct cabinets with one, energy in kWh from the hourly counters. */
    wards: z.array(z.object({ ward: z.string(), lampFailures: count, cabinetsWithFailures: count, energyKwh: z.number() })),
    totalEnergyKwh: z.number(),
  }),
});
export type Report = z.output<typeof reportSchema>;

/** "bao-cao-thang-2026-11" / "bao-cao-ngay-2026-11-03", with the ward when there is one. */
export function reportFileName(kind: ReportKind, period: string, ward: string | undefined, ext: string): string {
  return `bao-cao-${kind === 'monthly' ? 'thang' : 'ngay'}-${period}${ward ? `-${ward}` : ''}.${ext}`;
}
