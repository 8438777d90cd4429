import { localIsoString, reportLabel, type Report, type ReportLabelKey, type ReportLang } from '@tamky/protocol';

export type Cell = string | number | null;

export interface ReportTable {
  /** Sheet name in the workbook (≤ 31 characters, no []:*?/\). */
  sheet: string;
  title: string;
  header: string[];
  rows: Cell[][];
  /** Background colour per header column (VN_AQI level columns), RGB. */
  headerColours?: Array<[number, number, number] | undefined>;
  empty?: string;
}

/** Text on a level colour: white on the dark ones (purple, brown, red), black on the rest. */
export const darkBackground = (rgb: readonly [number, number, number]) => 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 128;

/** "2026-11-03 14:05" in the city's zone. */
export const localMinute = (t: number, timeZone: string) => localIsoString(t, timeZone).slice(0, 16).replace('T', ' ');

/** The report as titled tables in `lang`: what the PDF and the workbook lay out (the web page renders the JSON itself). */
export function reportTables(r: Report, lang: ReportLang): { title: string; scope: string; generated: string; tables: ReportTable[] } {
  const L = (key: ReportLabelKey, vars?: Record<string, string | number>) => reportLabel(lang, key, vars);
  const wardName = new Map(r.wards.map((w) => [w.id, w.name]));
  const name = (id: string) => wardName.get(id) ?? id;
  const tables: ReportTable[] = [];
  tables.push({
    sheet: 'VN_AQI',
    title: L('report.air'),
    header: [L('report.ward'), ...r.air.levels.map((l) => l[lang]), L('report.air.noData'), L('report.air.maxAqi')],
    headerColours: [undefined, ...r.air.levels.map((l) => l.rgb), undefined, undefined],
    rows: r.air.wards.map((w) => [name(w.ward), ...r.air.levels.map((l) => w.daysByLevel[l.id] ?? 0), w.noDataDays, w.maxAqi]),
  });
  const zoneLabel = (z: string) => (z === 'special' || z === 'normal' ? L(`report.noise.zone.${z}`) : z);
  tables.push({
    sheet: 'QCVN 26',
    title: L('report.noise', { edition: r.noise.edition }),
    header: [
      L('report.ward'),
      L('report.noise.zone'),
      L('report.noise.period'),
      L('report.noise.limit'),
      L('report.noise.hours'),
      L('report.noise.exceeded'),
      L('report.noise.maxLaeq'),
    ],
    rows: r.noise.rows.map((x) => [
      name(x.ward),
      zoneLabel(x.zone),
      L(`report.noise.period.${x.period}`),
      x.limit,
      x.hours,
      x.exceededHours,
      x.maxLaeq,
    ]),
  });
  tables.push({
    sheet: lang === 'vi' ? 'Ngập' : 'Flood',
    title: L('report.flood'),
    header: [
      L('report.ward'),
      L('report.flood.station'),
      L('report.flood.start'),
      L('report.flood.end'),
      L('report.flood.duration'),
      L('report.flood.peak'),
      L('report.flood.level'),
    ],
    rows: r.flood.events.map((e) => [
      name(e.ward),
      e.name,
      localMinute(e.start, r.timeZone),
      localMinute(e.end, r.timeZone),
      e.durationMin,
      e.peakM,
      e.alarmLevel,
    ]),
    empty: L('report.flood.none'),
  });
  tables.push({
    sheet: lang === 'vi' ? 'Cảnh báo' : 'Alarms',
    title: L('report.alarms'),
    header: [
      L('report.alarms.severity'),
      L('report.alarms.count'),
      L('report.alarms.acknowledged'),
      L('report.alarms.meanAck'),
      L('report.alarms.medianAck'),
      L('report.alarms.maxAck'),
    ],
    rows: r.alarms.bySeverity.map((a) => [
      L(`report.severity.${a.severity}` as ReportLabelKey),
      a.count,
      a.acknowledged,
      a.meanAckMin,
      a.medianAckMin,
      a.maxAckMin,
    ]),
  });
  tables.push({
    sheet: lang === 'vi' ? 'Chiếu sáng' : 'Lighting',
    title: L('report.lighting'),
    header: [L('report.ward'), L('report.lighting.failures'), L('report.lighting.cabinets'), L('report.lighting.energy')],
    rows: [
      ...r.lighting.wards.map((w) => [name(w.ward), w.lampFailures, w.cabinetsWithFailures, w.energyKwh]),
      [L('report.lighting.total'), null, null, r.lighting.totalEnergyKwh],
    ],
  });
  return {
    title: L(r.kind === 'daily' ? 'report.title.daily' : 'report.title.monthly', { period: r.period }),
    scope: r.ward ? L('report.scope.ward', { ward: name(r.ward) }) : L('report.scope.city'),
    generated: L('report.generated', { time: localMinute(r.generatedAt, r.timeZone) }),
    tables,
  };
}
