import type { Alarm as ApiAlarm, AlarmState } from '@tamky/protocol';

export type { AlarmState };

/**
 * The dashboard's alarm (docs/api.md "Alarms"): one open alarm per (rule, source); repeats fold into it. The
 * API's shape (protocol/src/api/alarms.ts) with the ids as the state DB numbers them; `toApiAlarm` turns them
 * into strings.
 */
export type Alarm = Omit<ApiAlarm, 'id' | 'parentId' | 'groupId' | 'shelfId'> & {
  id: number;
  /** The gateway alarm that explains this one (its child at the desk, never notified on its own). */
  parentId: number | null;
  /** The first alarm of the burst of one rule this alarm belongs to. */
  groupId: number | null;
  /** The maintenance shelf that silenced its notifications. */
  shelfId: number | null;
};

export interface AlarmAuditEntry {
  ts: number;
  user: string;
  action: string;
  detail: Record<string, unknown>;
}

export type AlarmChange = 'raised' | 'reopened' | 'updated' | 'acknowledged' | 'assigned' | 'commented' | 'cleared';
