import ExcelJS from 'exceljs';
import type { Report, ReportLang } from '@tamky/protocol';
import { rgbHex } from '@tamky/protocol';
import { darkBackground, reportTables } from './tables';

const argb = (rgb: readonly [number, number, number]) => `FF${rgbHex(rgb).slice(1).toUpperCase()}`;

/** The report as an Excel workbook: a sheet per table, titles on top, numbers as numbers, VN_AQI columns in their colours. */
export async function reportXlsx(report: Report, lang: ReportLang): Promise<Buffer> {
  const { title, scope, generated, tables } = reportTables(report, lang);
  const wb = new ExcelJS.Workbook();
  wb.creator = 'IOC Tam Kỳ';
  wb.created = new Date(report.generatedAt);
  for (const t of tables) {
    const ws = wb.addWorksheet(t.sheet);
    ws.addRow([`${title} – ${scope}`]).font = { bold: true, size: 13 };
    ws.addRow([t.title]).font = { bold: true };
    ws.addRow([generated]);
    const header = ws.addRow(t.header);
    header.font = { bold: true };
    t.headerColours?.forEach((c, i) => {
      if (!c) return;
      const cell = header.getCell(i + 1);
      cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: argb(c) } };
      if (darkBackground(c)) cell.font = { bold: true, color: { argb: 'FFFFFFFF' } };
    });
    for (const row of t.rows) ws.addRow(row);
    if (t.rows.length === 0 && t.empty) ws.addRow([t.empty]);
    ws.columns.forEach((col, i) => (col.width = i === 0 ? 24 : Math.max(12, (t.header[i]?.length ?? 8) + 2)));
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
