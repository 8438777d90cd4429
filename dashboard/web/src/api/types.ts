// The API's shapes as the server declares them: inferred from the zod schemas in protocol/src/api/ (type
// imports only, so no zod reaches the bundle). Add a type here by exporting it from there, never by hand.
import type { AqiLevelSpec } from '@tamky/protocol';

export type {
  Account,
  Alarm,
  AlarmAuditEntry,
  AlarmCount,
  AlarmDetail,
  AlarmHealth,
  AlarmNotification,
  AlarmRows,
  AlarmState,
  ApiToken,
  Assignee,
  AuditLogEntry,
  BasemapAnswer,
  CityModel,
  CommandAnswer,
  CommandBody,
  CommandResult,
  DeadLetter,
  DemoControl,
  DeviceHealth,
  DeviceInfo,
  DirectoryAnswer,
  FleetReleasesAnswer,
  GatewayHealth,
  GatewayInfo,
  GatewayState,
  LiveChannel,
  LiveMessage,
  MapAnswer,
  Overview,
  Recipient,
  RegistryAnswer,
  Rollout,
  RolloutsAnswer,
  Role,
  RulesAnswer,
  Series,
  Session,
  Severity,
  Shelf,
  ShelfTarget,
  StoredReading,
  TokenScope,
  User,
  WardOverview,
} from '@tamky/protocol';

/** A level id of config/limits/vn-aqi.yaml (good, moderate, … as shipped). */
export type AqiLevel = AqiLevelSpec['id'];

/** /api/limits: the limits files as the server loaded and validated them (protocol/src/limits.ts). */
export type { LimitsAnswer as LimitsFile } from '@tamky/protocol';
