import type { Series } from '@tamky/protocol';

/** RFC 4180 quoting for the only free-text columns (ids are restricted, but wards come from a city file). */
const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** `time,device,ward,field,value`, rows ordered by time then device, times in ISO 8601 UTC. */
export function seriesToCsv(series: Series[]): string {
  const rows: Array<[number, string]> = [];
  for (const s of series) {
    const prefix = `,${cell(s.device)},${cell(s.ward)},${cell(s.field)},`;
    for (const [t, v] of s.points) rows.push([t, `${new Date(t).toISOString()}${prefix}${v}`]);
  }
  rows.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return `time,device,ward,field,value\r\n${rows.map((r) => r[1]).join('\r\n')}${rows.length ? '\r\n' : ''}`;
}
