import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import type { CityModel } from '@tamky/protocol';
import { createLogger, loadConfigFile, loadLimits } from '@tamky/service-kit';
import { waitFor } from '@tamky/test-support';
import { deliveryConfigSchema, startReportDelivery } from '../src/reports/delivery';
import { loadCity, startHarness, type Harness } from './helpers';
import { startSmtpSink } from './fakes/smtp';
import { LOCAL_OFFSET, monthCity, monthReadings } from './report-month';

/**
 * Scheduled delivery: after local midnight of 1 December the dashboard mails yesterday's daily report and
 * November's monthly one, PDF and workbook attached, to the recipients of a delivery file whose SMTP settings
 * come from the environment; a local SMTP server receives them. Nothing is sent twice, even by another
 * process sharing the state DB, and the next day brings the next daily report.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const HOUR = 3_600_000;
const DAY = 86_400_000;
const DEC_1 = Date.UTC(2026, 11, 1) - LOCAL_OFFSET; // local midnight
const city: CityModel = monthCity(loadCity(), ['an-my', 'an-phu']);

interface Part {
  headers: string;
  body: Buffer;
}
/** The parts of a multipart mail as nodemailer writes it (base64 bodies decoded). */
function mimeParts(data: string): Part[] {
  const boundary = /boundary="?([^";\r\n]+)"?/.exec(data)?.[1];
  if (!boundary) return [];
  return data
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((p) => {
      const split = p.indexOf('\r\n\r\n');
      const headers = p.slice(0, split);
      const body = p.slice(split + 4);
      return { headers, body: /base64/i.test(headers) ? Buffer.from(body.replace(/\s+/g, ''), 'base64') : Buffer.from(body) };
    });
}
const fileNameOf = (p: Part) => /filename="?([^";\r\n]+)"?/.exec(p.headers)?.[1];

describe('report delivery by e-mail', () => {
  let h: Harness;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let now = DEC_1 + 10 * 60_000; // 00:10 local: before sendAfterMinutes
  let deliveryFile: string;

  beforeAll(async () => {
    sink = await startSmtpSink();
    process.env.TEST_REPORTS_SMTP_HOST = sink.host;
    process.env.TEST_REPORTS_SMTP_PORT = String(sink.port);
    h = await startHarness({ city, now: () => now });
    deliveryFile = join(h.dir, 'delivery.yaml');
    writeFileSync(
      deliveryFile,
      toYaml({
        smtp: { host: '${TEST_REPORTS_SMTP_HOST}', port: '${TEST_REPORTS_SMTP_PORT}', from: 'IOC Tam Kỳ <ioc@tamky.example>' },
        sendAfterMinutes: 30,
        checkEveryMs: 100,
        recipients: [
          { email: 'tnmt@tamky.example', reports: ['daily', 'monthly'] },
          { email: 'an-phu@tamky.example', reports: ['monthly'], ward: 'an-phu', lang: 'en' },
        ],
      }),
    );
    // Two days of readings: the last of November and the first of December.
    for (const chunk of monthReadings({ from: DEC_1 - DAY, to: DEC_1 + DAY, devices: city.devices })) await h.store.writeBatch(chunk);
    h.config.reports = { deliveryFile };
    await h.restart();
  });
  afterAll(async () => {
    await h?.close();
    await sink?.close();
  });

  it('mails the daily and monthly reports with PDF and XLSX after local midnight, once', async () => {
    // Before sendAfterMinutes nothing goes; the check runs every 100 ms.
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.mails).toHaveLength(0);
    now = DEC_1 + HOUR;
    await waitFor(() => sink.mails.length >= 3 || undefined, { what: 'three report mails', timeoutMs: 60_000 });
    const byRecipient = sink.mails.map((m) => [m.to.join(','), mimeParts(m.data).map(fileNameOf).filter(Boolean)]);
    expect(byRecipient).toEqual(
      expect.arrayContaining([
        ['tnmt@tamky.example', ['bao-cao-ngay-2026-11-30.pdf', 'bao-cao-ngay-2026-11-30.xlsx']],
        ['tnmt@tamky.example', ['bao-cao-thang-2026-11.pdf', 'bao-cao-thang-2026-11.xlsx']],
        ['an-phu@tamky.example', ['bao-cao-thang-2026-11-an-phu.pdf', 'bao-cao-thang-2026-11-an-phu.xlsx']],
      ]),
    );
    // The attachments are the reports: the ward's PDF in English names its ward, the city's daily workbook its day.
    const wardMail = sink.mails.find((m) => m.to.includes('an-phu@tamky.example'))!;
    const pdf = mimeParts(wardMail.data).find((p) => fileNameOf(p)?.endsWith('.pdf'))!;
    const pdfFile = join(h.dir, 'mailed.pdf');
    writeFileSync(pdfFile, pdf.body);
    const text = execFileSync('pdftotext', [pdfFile, '-'], { encoding: 'utf8' });
    expect(text).toContain('Monthly report 2026-11');
    expect(text).toContain('Ward: An Phú');
    const dailyMail = sink.mails.find((m) => mimeParts(m.data).some((p) => fileNameOf(p) === 'bao-cao-ngay-2026-11-30.xlsx'))!;
    const xlsxFile = join(h.dir, 'mailed.xlsx');
    writeFileSync(xlsxFile, mimeParts(dailyMail.data).find((p) => fileNameOf(p)?.endsWith('.xlsx'))!.body);
    const title = execFileSync(
      '/usr/bin/python3',
      ['-c', 'import sys,openpyxl\nprint(openpyxl.load_workbook(sys.argv[1])["VN_AQI"]["A1"].value)', xlsxFile],
      { encoding: 'utf8' },
    );
    expect(title.trim()).toBe('Báo cáo ngày 2026-11-30 – Toàn thành phố');

    // Another process on the same state DB (or this one after a restart) finds them sent; the next day brings one more.
    const db = new Database(h.config.stateDb);
    // A delivery is recorded once the mail server accepted it, a moment after the sink holds the mail.
    const recorded = db.prepare('SELECT count(*) AS n FROM report_deliveries');
    await waitFor(() => (recorded.get() as { n: number }).n === 3 || undefined, { what: 'the three deliveries recorded' });
    let clock = DEC_1 + 2 * HOUR;
    const other = startReportDelivery({
      core: { store: h.store, db, city, limits: loadLimits(join(REPO, 'config/limits')), now: () => clock },
      config: { ...loadConfigFile(deliveryFile, deliveryConfigSchema), checkEveryMs: 3_600_000 },
      logger: createLogger('delivery-test', { level: 'silent' }),
    });
    try {
      expect(await other.runDue()).toBe(0);
      expect(sink.mails).toHaveLength(3);
      now = DEC_1 + 10 * 60_000 + DAY; // the server's own schedule: before the send time of 2 December
      clock = DEC_1 + DAY + HOUR;
      expect(await other.runDue()).toBe(1);
      expect(db.prepare('SELECT kind, period, recipient FROM report_deliveries ORDER BY kind, period, recipient').all()).toEqual([
        { kind: 'daily', period: '2026-11-30', recipient: 'tnmt@tamky.example' },
        { kind: 'daily', period: '2026-12-01', recipient: 'tnmt@tamky.example' },
        { kind: 'monthly', period: '2026-11', recipient: 'an-phu@tamky.example' },
        { kind: 'monthly', period: '2026-11', recipient: 'tnmt@tamky.example' },
      ]);
    } finally {
      await other.close();
      db.close();
    }
  });

  it('refuses a delivery file with a bad field, naming file and field', () => {
    const bad = join(h.dir, 'bad-delivery.yaml');
    writeFileSync(
      bad,
      toYaml({ smtp: { host: 'x', port: 25, from: 'a@b.c' }, recipients: [{ email: 'not-an-address', reports: ['daily'] }] }),
    );
    expect(() => loadConfigFile(bad, deliveryConfigSchema)).toThrow(/bad-delivery\.yaml: recipients\[0\]\.email: Invalid email/);
  });
});
