import type { Response } from 'express';
import {
  isReportPeriod,
  reportFileName,
  reportQuerySchema,
  reportSchema,
  REPORT_KINDS,
  type Report,
  type ReportFormat,
  type ReportKind,
  type ReportLang,
} from '@tamky/protocol';
import type { Core } from '../core';
import { HttpError, notFound, parseInput } from '../http/errors';
import { attachment } from '../http/content-disposition';
import type { RouteSpec } from '../http/route-table';
import { cityInWards, wardScopeOf } from '../readings/ward-scope';
import { computeReport } from './compute';
import { reportPdf } from './pdf';
import { reportXlsx } from './xlsx';

const PERIOD_FORM: Record<ReportKind, string> = { daily: 'YYYY-MM-DD', monthly: 'YYYY-MM' };

/** The report of `period` for `ward` (or every ward in `scope`), as a caller limited to `scope` may see it. */
export async function buildReport(
  core: Pick<Core, 'store' | 'db' | 'city' | 'limits' | 'now'>,
  kind: ReportKind,
  period: string,
  ward: string | undefined,
  scope: readonly string[] | undefined,
): Promise<Report> {
  if (!isReportPeriod(kind, period)) throw new HttpError(400, 'invalid_input', `period must be ${PERIOD_FORM[kind]} for a ${kind} report`);
  if (ward && (!core.city.wards.some((w) => w.id === ward) || (scope && !scope.includes(ward)))) throw notFound(`ward ${ward}`);
  const wards = ward ? [ward] : scope;
  return computeReport(
    { store: core.store, db: core.db, city: cityInWards(core.city, wards), limits: core.limits, kind, period, ward, now: core.now() },
    wards === undefined,
  );
}

/** Sends the report as asked: JSON, or a PDF or workbook named by its period. */
export async function sendReport(res: Response, report: Report, format: ReportFormat, lang: ReportLang, font?: string): Promise<void> {
  if (format === 'json') {
    res.json(report);
    return;
  }
  const body = format === 'pdf' ? await reportPdf(report, lang, font) : await reportXlsx(report, lang);
  res.setHeader('Content-Type', format === 'pdf' ? 'application/pdf' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  res.setHeader('Content-Disposition', attachment(reportFileName(report.kind, report.period, report.ward, format)));
  res.send(body);
}

export function reportRoutes(core: Core): RouteSpec[] {
  return REPORT_KINDS.map((kind): RouteSpec => ({
    method: 'get',
    path: `/reports/${kind}`,
    access: 'viewer',
    token: 'read:readings',
    wards: 'filter',
    summary: `The ${kind} report (period ${PERIOD_FORM[kind]}, local time): VN_AQI days per level per ward, QCVN 26 exceedance hours by zone and day/night, flood events, alarm counts and times to acknowledge, lamp failures, lighting energy; format=json|pdf|xlsx, lang=vi|en; ward optional (whole city)`,
    request: { query: reportQuerySchema },
    answer: reportSchema,
    async handler(req, res) {
      const q = parseInput(reportQuerySchema, req.query, 'query');
      const report = await buildReport(core, kind, q.period, q.ward, wardScopeOf(res));
      await sendReport(res, report, q.format, q.lang, core.config.reports?.font);
    },
  }));
}
