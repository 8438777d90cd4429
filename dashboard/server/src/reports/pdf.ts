import { existsSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { Report, ReportLang } from '@tamky/protocol';
import { darkBackground, reportTables, type ReportTable } from './tables';

/** DejaVu Sans (Debian fonts-dejavu-core) has every Vietnamese letter; pdfkit's built-in fonts do not. */
export const DEFAULT_REPORT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export function checkReportFont(file: string): void {
  if (!existsSync(file)) throw new Error(`report font ${file} is missing (install fonts-dejavu-core, or set reports.font)`);
}

const MARGIN = 40;

function drawTable(doc: PDFKit.PDFDocument, t: ReportTable, width: number): void {
  const cols = t.header.length;
  const first = Math.min(140, width / 3);
  const rest = (width - first) / (cols - 1);
  const xOf = (i: number) => MARGIN + (i === 0 ? 0 : first + (i - 1) * rest);
  const wOf = (i: number) => (i === 0 ? first : rest);
  doc
    .fontSize(12)
    .fillColor('black')
    .text(t.title, MARGIN, doc.y + 8);
  doc.moveDown(0.3);
  const row = (cells: Array<string | number | null>, header: boolean) => {
    doc.fontSize(header ? 7.5 : 8.5);
    const heights = cells.map((c, i) => doc.heightOfString(c === null ? '–' : String(c), { width: wOf(i) - 4 }));
    const h = Math.max(...heights) + 4;
    if (doc.y + h > doc.page.height - MARGIN) doc.addPage();
    const y = doc.y;
    cells.forEach((c, i) => {
      const colour = header ? t.headerColours?.[i] : undefined;
      if (colour) doc.rect(xOf(i), y, wOf(i), h).fill(colour);
      doc.rect(xOf(i), y, wOf(i), h).lineWidth(0.5).stroke('#888888');
      const ink = colour && darkBackground(colour) ? 'white' : 'black';
      doc.fillColor(ink).text(c === null ? '–' : String(c), xOf(i) + 2, y + 2, {
        width: wOf(i) - 4,
        align: i === 0 || typeof c === 'string' ? 'left' : 'right',
      });
    });
    doc.x = MARGIN;
    doc.y = y + h;
  };
  row(t.header, true);
  for (const r of t.rows) row(r, false);
  if (t.rows.length === 0 && t.empty) doc.fontSize(9).text(t.empty, MARGIN, doc.y + 2);
}

/** The report as an A4 PDF in `lang`, text in an embedded DejaVu Sans. */
export function reportPdf(report: Report, lang: ReportLang, font = DEFAULT_REPORT_FONT): Promise<Buffer> {
  const { title, scope, generated, tables } = reportTables(report, lang);
  const doc = new PDFDocument({ size: 'A4', margin: MARGIN, info: { Title: `${title} – ${scope}`, Creator: 'IOC Tam Kỳ' } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('body', font);
  doc.font('body');
  const width = doc.page.width - 2 * MARGIN;
  doc.fontSize(16).text(title, MARGIN, MARGIN);
  doc.fontSize(11).text(scope);
  doc.fontSize(8).fillColor('#444444').text(generated);
  for (const t of tables) drawTable(doc, t, width);
  doc.end();
  return done;
}
