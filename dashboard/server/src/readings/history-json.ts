import { columnsToSeries, type ColumnSeries } from '@tamky/protocol';

/**
 * `{"series":[...],"windowMs":…}` of the history answer (historyAnswerSchema), written from columns one series at a
 * time: each series' points live only while they are stringified, instead of every point of the answer as an array
 * at once (keeping those alive was most of the CPU of a large answer). The text is JSON.stringify's of the same
 * answer.
 */
export function historyAnswerJson(columns: ColumnSeries[], windowMs?: number): string {
  const series = columns.map((c) => JSON.stringify(columnsToSeries(c))).join(',');
  return `{"series":[${series}]${windowMs === undefined ? '' : `,"windowMs":${JSON.stringify(windowMs)}`}}`;
}
