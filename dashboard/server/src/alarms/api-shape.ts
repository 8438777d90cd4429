import { formatNumber, type Alarm as ApiAlarm } from '@tamky/protocol';
import type { Alarm, AlarmAuditEntry } from './model';

/** The API/WebSocket form of an alarm (protocol's `Alarm`): ids travel as strings (URL segments in the web app). */
export type { ApiAlarm };
const idOrNull = (n: number | null) => (n === null ? null : String(n));
export const toApiAlarm = (a: Alarm): ApiAlarm => ({
  ...a,
  id: String(a.id),
  parentId: idOrNull(a.parentId),
  groupId: idOrNull(a.groupId),
  shelfId: idOrNull(a.shelfId),
});

const v = (x: unknown) => (typeof x === 'number' ? formatNumber(x) : x === null || x === undefined ? '–' : String(x));

/** A line a person can read in the trail; the structured detail stays alongside as `data`. */
export function describeAudit(action: string, d: Record<string, unknown>): string | null {
  switch (action) {
    case 'raised':
      return `${v(d.value)} / ${v(d.limit)} (${v(d.severity)})`;
    case 'reopened':
      return `${v(d.value)} / ${v(d.limit)} (${v(d.severity)}) ×${v(d.flaps)}`;
    case 'correlated':
    case 'uncorrelated':
      return `#${v(d.gatewayAlarm)}`;
    case 'shelved':
      return `#${v(d.shelf)}`;
    case 'severity':
      return `${v(d.from)} → ${v(d.to)} (${v(d.value)})`;
    case 'assigned':
      return `${d.from ? `${v(d.from)} → ` : ''}${v(d.to)}`;
    case 'comment':
      return typeof d.text === 'string' ? d.text : null;
    case 'cleared':
      return typeof d.comment === 'string' ? d.comment : typeof d.reason === 'string' ? `${d.reason} (${v(d.value)})` : null;
    default:
      return typeof d.comment === 'string' ? d.comment : null;
  }
}

export const toApiAudit = (e: AlarmAuditEntry) => ({
  ts: e.ts,
  user: e.user,
  action: e.action,
  detail: describeAudit(e.action, e.detail),
  data: e.detail,
});
