import { localIsoString, type CityModel } from '@tamky/protocol';
import type { Alarm, AlarmAuditEntry } from './model';
import { describeAudit } from './api-shape';

/** RFC 4180 quoting. */
const cell = (v: string | number | null | undefined): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

const HEADERS = {
  vi: [
    'Mã',
    'Quy tắc',
    'Mức độ',
    'Trạng thái',
    'Phường/xã',
    'Thiết bị',
    'Tên thiết bị',
    'Gateway',
    'Nội dung',
    'Bắt đầu',
    'Kết thúc',
    'Người xác nhận',
    'Người phụ trách',
    'Số lần lặp lại',
    'Thời điểm',
    'Người thực hiện',
    'Hành động',
    'Chi tiết',
  ],
  en: [
    'Id',
    'Rule',
    'Severity',
    'State',
    'Ward',
    'Device',
    'Device name',
    'Gateway',
    'Message',
    'Opened',
    'Cleared',
    'Acknowledged by',
    'Assignee',
    'Reopened',
    'Time',
    'User',
    'Action',
    'Detail',
  ],
};

/**
 * Alarms with their trails for a spreadsheet: one row per trail entry, the alarm's columns repeated,
 * names beside ids, times local with their offset, and a UTF-8 BOM so Excel reads Vietnamese right.
 */
export function alarmsToCsv(
  items: Array<{ alarm: Alarm; trail: AlarmAuditEntry[] }>,
  opts: { city: CityModel; lang: 'vi' | 'en' },
): string {
  const wards = new Map(opts.city.wards.map((w) => [w.id, w.name]));
  const devices = new Map(opts.city.devices.map((d) => [d.id, d.name]));
  const time = (ts: number | null) => (ts === null ? '' : localIsoString(ts, opts.city.timeZone));
  const lines = [HEADERS[opts.lang].join(',')];
  for (const { alarm: a, trail } of items) {
    const head = [
      a.id,
      a.ruleId,
      a.severity,
      a.state,
      a.ward ? (wards.get(a.ward) ?? a.ward) : '',
      a.device,
      a.device ? (devices.get(a.device) ?? '') : '',
      a.gateway,
      a.message[opts.lang],
      time(a.openedAt),
      time(a.clearedAt),
      a.acknowledgedBy,
      a.assignee,
      a.reopenCount,
    ];
    for (const e of trail.length ? trail : [undefined])
      lines.push([...head, e ? time(e.ts) : '', e?.user, e?.action, e ? describeAudit(e.action, e.detail) : ''].map(cell).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
