import type { Severity } from '@tamky/protocol';

export type AlarmState = 'active' | 'acknowledged' | 'cleared';

/** The dashboard's alarm (docs/api.md "Alarms"): one open alarm per (rule, source); repeats fold into it. */
export interface Alarm {
  id: number;
  ruleId: string;
  sourceId: string;
  state: AlarmState;
  severity: Severity;
  category: string;
  ward: string | null;
  kind: string | null;
  device: string | null;
  gateway: string | null;
  field: string | null;
  value: number | null;
  limit: number | null;
  unit: string | null;
  message: { vi: string; en: string };
  /** When the condition began (detector's `since`). */
  since: number;
  firstSeen: number;
  lastSeen: number;
  count: number;
  assignee: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  clearedAt: number | null;
  clearedBy: string | null;
  /** Server time the alarm was opened here; escalation counts from it. */
  openedAt: number;
  /** The gateway alarm that explains this one (its child at the desk, never notified on its own). */
  parentId: number | null;
  /** The first alarm of the burst of one rule this alarm belongs to. */
  groupId: number | null;
  /** Times the condition came back within the reopen window and reopened this alarm. */
  reopenCount: number;
  /** The maintenance shelf that silenced its notifications. */
  shelfId: number | null;
}

export interface AlarmAuditEntry {
  ts: number;
  user: string;
  action: string;
  detail: Record<string, unknown>;
}

export type AlarmChange = 'raised' | 'reopened' | 'updated' | 'acknowledged' | 'assigned' | 'commented' | 'cleared';
