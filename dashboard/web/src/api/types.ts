import type {
  CityModel,
  DeviceHealth,
  GatewayHealth,
  Series,
  StoredReading,
  DeadLetter,
  Severity,
  CommandResult,
  LimitsAnswer,
  MapAnswer,
  BasemapAnswer,
} from '@tamky/protocol';

export type {
  CityModel,
  DeviceHealth,
  GatewayHealth,
  Series,
  StoredReading,
  DeadLetter,
  Severity,
  CommandResult,
  MapAnswer,
  BasemapAnswer,
};

export type Role = 'viewer' | 'operator' | 'technician' | 'admin';
export interface User {
  username: string;
  role: Role;
  displayName: string;
}
export interface Session {
  user: User;
  csrfToken: string;
  /** A wall screen's token session (no password to change). */
  kiosk?: boolean;
}

/** A level id of config/limits/vn-aqi.yaml (good, moderate, … as shipped). */
export type AqiLevel = string;

export interface WardOverview {
  ward: string;
  aqi: { value: number; level: AqiLevel; color: string; ts: number } | null;
  noise: { laeq: number; limit: number; zone: string; ts: number } | null;
  water: { level: number; alarmLevels: number[]; stage: number; ts: number } | null;
  lights: { on: number; dimmed: number; failed: number; total: number; ts: number } | null;
  traffic: { flowPerHour: number; congestion: number; ts: number } | null;
  alarms: Record<Severity, number>;
}
export interface Overview {
  ts: number;
  wards: WardOverview[];
}

export type AlarmState = 'active' | 'acknowledged' | 'cleared';
export interface Alarm {
  id: string;
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
  firstSeen: number;
  lastSeen: number;
  count: number;
  assignee: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  clearedAt: number | null;
  clearedBy: string | null;
  openedAt: number;
  /** The gateway alarm that explains this one (shown as its child). */
  parentId: string | null;
  /** The first alarm of the burst of one rule this one belongs to. */
  groupId: string | null;
  /** Times the condition came back within the reopen window. */
  reopenCount: number;
  /** The maintenance shelf silencing its notifications. */
  shelfId: string | null;
}
export interface AlarmAuditEntry {
  ts: number;
  user: string;
  action: string;
  detail: string | null;
}
export interface AlarmNotification {
  id: string;
  recipient: string;
  channel: string;
  state: string;
  ts: number;
  error: string | null;
  /** The text handed to the provider (null before the first send attempt). */
  text: string | null;
  alarmId: number;
  address: string;
}
export interface DemoControl {
  scenarios: string[];
  ready: boolean;
  injected: Array<{ scenario: string; at: number; by: string; what: string[] }>;
}
export interface AlarmDetail {
  alarm: Alarm;
  audit: AlarmAuditEntry[];
  notifications: AlarmNotification[];
  children: Alarm[];
}
export interface Assignee {
  username: string;
  displayName: string;
  role: Role;
}
export type ShelfTarget = 'device' | 'gateway' | 'ward';
export interface Shelf {
  id: number;
  targetType: ShelfTarget;
  targetId: string;
  reason: string;
  user: string;
  createdAt: number;
  until: number;
}
export interface AuditLogEntry {
  id: number;
  ts: number;
  user: string;
  action: string;
  detail: Record<string, unknown>;
}
export interface AlarmHealth {
  from: number;
  to: number;
  settings: {
    positions: number;
    floodPer10Min: number;
    chatterCount: number;
    chatterWindowS: number;
    fleetingS: number;
    staleHours: number;
  };
  total: number;
  suppressed: { gateway: number; group: number; shelved: number };
  perPosition: { per10Min: number; perDay: number };
  periods: number;
  floodPeriods: number;
  floodShare: number;
  peak: { count: number; start: number };
  badActors: { rules: Array<{ id: string; count: number; share: number }>; sources: Array<{ id: string; count: number; share: number }> };
  chattering: Array<{ ruleId: string; sourceId: string; count: number }>;
  fleeting: number;
  stale: Array<{ id: string; ruleId: string; sourceId: string; openedAt: number }>;
  priorityMix: Array<{ priority: 'low' | 'medium' | 'high'; count: number; share: number; guide: number }>;
}

export type GatewayState = 'online' | 'offline' | 'unknown';
export interface GatewayInfo {
  id: string;
  ward: string;
  name: string;
  state: GatewayState;
  lastSeen: number | null;
  health: GatewayHealth | null;
}
export interface DeviceInfo {
  device: CityModel['devices'][number];
  latest: StoredReading | null;
  health: DeviceHealth | null;
}

/** /api/limits: the limits files as the server loaded and validated them (protocol/src/limits.ts). */
export type LimitsFile = LimitsAnswer;

export type LiveMessage =
  | { type: 'hello'; serverTime: number }
  | { type: 'ping'; serverTime: number }
  | { type: 'readings'; readings: StoredReading[] }
  | { type: 'derived'; readings: StoredReading[] }
  | { type: 'alarm'; alarm: Alarm }
  | { type: 'gateway'; gateway: Pick<GatewayInfo, 'id' | 'state' | 'lastSeen' | 'health'> }
  /** An admin saved a new device registry: refetch /api/city. */
  | { type: 'registry'; version: number };

export type LiveChannel = 'readings' | 'derived' | 'alarms' | 'gateways';
