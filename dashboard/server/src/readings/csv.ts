import { isDeviceKind, KIND_FIELDS, localIsoString, type CityModel, type Series } from '@tamky/protocol';

/** RFC 4180 quoting for free-text columns (names come from a city file). */
const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Excel reads a UTF-8 file as the local code page unless it starts with a byte-order mark: Vietnamese would be garbled. */
const BOM = '\uFEFF';

/** The city-local date of a time, "2026-12-07", for file names. */
export const localDate = (ts: number, timeZone: string) => localIsoString(ts, timeZone).slice(0, 10);

/** At most three decimals, no float noise (58.800000000000004 → 58.8). */
const value = (v: number) => String(Math.round(v * 1000) / 1000);

/**
 * `time,device,device_name,ward,ward_name,field,unit,value,clock`: exactly the series asked for (raw or
 * aggregated as the chart's query says), rows by time then device, times local with offset, a BOM first.
 * `clock` is the point's clock mark (Series.clock: a raw reading's, or a window's holding marked readings:
 * `unsynced`, `corrected`), empty when none.
 */
export function seriesToCsv(series: Series[], opts: { city: CityModel; kind: string; reducedFrom?: string[] }): string {
  const devices = new Map(opts.city.devices.map((d) => [d.id, d.name]));
  const wards = new Map(opts.city.wards.map((w) => [w.id, w.name]));
  const fields = isDeviceKind(opts.kind) ? KIND_FIELDS[opts.kind] : undefined;
  const rows: Array<[number, string, string]> = [];
  // A folded series (lanes into total flow) has the unit its fields share.
  const reducedUnits = new Set((opts.reducedFrom ?? []).map((f) => fields?.[f]?.unit ?? ''));
  const reducedUnit = reducedUnits.size === 1 ? [...reducedUnits][0]! : '';
  for (const s of series) {
    const unit = fields?.[s.field]?.unit ?? (opts.reducedFrom ? reducedUnit : '');
    const middle = `,${cell(s.device)},${cell(devices.get(s.device) ?? '')},${cell(s.ward)},${cell(wards.get(s.ward) ?? '')},${cell(s.field)},${cell(unit)},`;
    const marks = new Map(s.clock);
    for (const [t, v] of s.points)
      rows.push([t, s.device, `${localIsoString(t, opts.city.timeZone)}${middle}${value(v)},${marks.get(t) ?? ''}`]);
  }
  rows.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return `${BOM}time,device,device_name,ward,ward_name,field,unit,value,clock\r\n${rows.map((r) => r[2]).join('\r\n')}${rows.length ? '\r\n' : ''}`;
}

/** "traffic_counter_2026-12-01_2026-12-07.csv": named by the range exported, in city dates (one date for one day). */
export function csvFileName(kind: string, from: number, to: number, timeZone: string): string {
  const first = localDate(from, timeZone);
  // `to` is exclusive: a range ending at midnight ends on the day before.
  const last = localDate(Math.max(from, to - 1), timeZone);
  return `${kind}_${first === last ? first : `${first}_${last}`}.csv`;
}
