import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import { localTime, reportFileName, reportLabel, REPORT_KINDS, type ReportKind } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { Core } from '../core';
import { migrate } from '../state-db';
import { buildReport } from './routes';
import { previousPeriod } from './period';
import { reportPdf } from './pdf';
import { reportXlsx } from './xlsx';
import { reportTables } from './tables';

/** config/reports/delivery.yaml: who gets which report, and the SMTP relay (settings from the environment). */
export const deliveryConfigSchema = z.object({
  smtp: z.object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535),
    /** true: TLS from the first byte (port 465); false: STARTTLS when the relay offers it. */
    secure: z
      .union([z.boolean(), z.enum(['true', 'false'])])
      .transform((v) => v === true || v === 'true')
      .default(false),
    user: z.string().optional(),
    password: z.string().optional(),
    from: z.string().min(3),
    timeoutMs: z.coerce.number().int().positive().default(30_000),
    /** PEM file of the CA that signed the relay's certificate, when it is not a public one. */
    caFile: z.string().optional(),
  }),
  /** Local minutes after midnight at which the day's deliveries start (rollups of the last hour are complete by then). */
  sendAfterMinutes: z.number().int().min(0).max(1439).default(30),
  /** How often the schedule is looked at, ms. */
  checkEveryMs: z.number().int().positive().default(60_000),
  recipients: z
    .array(
      z.object({
        email: z.email(),
        name: z.string().optional(),
        reports: z.array(z.enum(REPORT_KINDS)).min(1),
        /** One ward's report; absent: the city's. */
        ward: z.string().optional(),
        lang: z.enum(['vi', 'en']).default('vi'),
      }),
    )
    .min(1),
});
export type DeliveryConfig = z.output<typeof deliveryConfigSchema>;

const MIGRATIONS = [
  {
    name: 'reports/001-deliveries',
    sql: `CREATE TABLE report_deliveries (
      kind TEXT NOT NULL, period TEXT NOT NULL, recipient TEXT NOT NULL, ward TEXT NOT NULL DEFAULT '', sent_at INTEGER NOT NULL,
      PRIMARY KEY (kind, period, recipient, ward)
    );`,
  },
];

type DeliveryCore = Pick<Core, 'store' | 'db' | 'city' | 'limits' | 'now'>;

/**
 * Mails the daily report after local midnight (sendAfterMinutes) and the monthly one from the 1st, each with
 * its PDF and workbook. A delivery is recorded in the state DB only once the relay accepted it, so a relay
 * that is down gets the report at a later check, and a restart sends nothing twice.
 */
export function startReportDelivery(opts: { core: DeliveryCore; config: DeliveryConfig; logger: Logger; font?: string | undefined }) {
  const { core, config, logger } = opts;
  const cityWards = new Set(core.city.wards.map((w) => w.id));
  config.recipients.forEach((r, i) => {
    if (r.ward && !cityWards.has(r.ward)) throw new Error(`reports delivery: recipients[${i}].ward: unknown ward "${r.ward}"`);
  });
  migrate(core.db, MIGRATIONS);
  const sent = core.db.prepare<[string, string, string, string], { sent_at: number }>(
    'SELECT sent_at FROM report_deliveries WHERE kind = ? AND period = ? AND recipient = ? AND ward = ?',
  );
  const record = core.db.prepare('INSERT OR IGNORE INTO report_deliveries (kind, period, recipient, ward, sent_at) VALUES (?, ?, ?, ?, ?)');
  const { smtp } = config;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
    tls: { rejectUnauthorized: true, ...(smtp.caFile ? { ca: readFileSync(smtp.caFile) } : {}) },
  });

  async function deliver(kind: ReportKind, period: string, r: DeliveryConfig['recipients'][number]): Promise<void> {
    const report = await buildReport(core, kind, period, r.ward, undefined);
    const [pdf, xlsx] = await Promise.all([reportPdf(report, r.lang, opts.font), reportXlsx(report, r.lang)]);
    const { title, scope } = reportTables(report, r.lang);
    await transport.sendMail({
      from: smtp.from,
      to: r.name ? { name: r.name, address: r.email } : r.email,
      subject: reportLabel(r.lang, 'report.mail.subject', { title, scope }),
      text: reportLabel(r.lang, 'report.mail.body', { title, scope }),
      attachments: [
        { filename: reportFileName(kind, period, r.ward, 'pdf'), content: pdf, contentType: 'application/pdf' },
        {
          filename: reportFileName(kind, period, r.ward, 'xlsx'),
          content: xlsx,
          contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        },
      ],
    });
  }

  let running: Promise<number> | undefined;
  /** Sends what is due now and not yet sent; resolves to the number of mails sent. */
  async function runOnce(): Promise<number> {
    const now = core.now();
    const local = localTime(now, core.city.timeZone);
    if (local.minuteOfDay < config.sendAfterMinutes) return 0;
    let count = 0;
    for (const kind of REPORT_KINDS) {
      const period = previousPeriod(kind, now, core.city.timeZone);
      for (const r of config.recipients) {
        if (!r.reports.includes(kind) || sent.get(kind, period, r.email, r.ward ?? '')) continue;
        try {
          await deliver(kind, period, r);
          record.run(kind, period, r.email, r.ward ?? '', core.now());
          count++;
          logger.info({ kind, period, to: r.email, ward: r.ward }, 'report delivered');
        } catch (err) {
          logger.warn({ err, kind, period, to: r.email }, 'report delivery failed (retried at the next check)');
        }
      }
    }
    return count;
  }
  const runDue = (): Promise<number> => (running ??= runOnce().finally(() => (running = undefined)));

  const timer = setInterval(() => void runDue(), config.checkEveryMs);
  timer.unref();
  return {
    runDue,
    async close() {
      clearInterval(timer);
      await running?.catch(() => undefined);
      transport.close();
    },
  };
}
export type ReportDelivery = ReturnType<typeof startReportDelivery>;
