import type Database from 'better-sqlite3';
import type { CityModel, Limits, TimeSeriesStore } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { ResolvedDashboardConfig } from './config';
import type { Accounts } from './auth/accounts';
import type { Sessions } from './auth/sessions';
import type { Guard } from './auth/guard';
import type { AuditLog } from './audit';
import type { GatewayTracker } from './gateways/tracker';
import type { CommandLog } from './gateways/commands';
import type { AlarmCounts, DashboardModule } from './module';
import type { SignInLimits } from './auth/rate-limit';
import type { RegistryStore } from './registry/registry-store';
import type { NotifyDirectory } from './notify/directory';

/** What the core route groups share. */
export interface Core {
  config: ResolvedDashboardConfig;
  db: Database.Database;
  city: CityModel;
  store: TimeSeriesStore;
  logger: Logger;
  now(): number;
  accounts: Accounts;
  sessions: Sessions;
  guard: Guard;
  audit: AuditLog;
  gateways: GatewayTracker;
  commands: CommandLog;
  limits: Limits;
  modules: DashboardModule[];
  /** Failed logins per username and per client address. */
  loginLimits: SignInLimits;
  verifyKioskToken(token: string): Promise<string | null>;
  mqttPublish(topic: string, payload: unknown, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  alarmCounts(ward: string): AlarmCounts;
  /** Closes the live-feed sockets of a user whose sessions were ended (disabled, new role or password), except those of `keepSessionId`. */
  disconnectUser(username: string, keepSessionId?: string): void;
  /** Closes the live-feed sockets opened with this session (logout). */
  disconnectSession(sessionId: string): void;
  /** The versioned device registry; `city` above is always its current version. */
  registry: RegistryStore;
  /** Notification recipients and escalation, versioned; editable once the alarms module attached its policy. */
  notifyDirectory: NotifyDirectory;
}
