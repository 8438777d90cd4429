import type express from 'express';
import type { RouteSpec } from './http/route-table';
import type { User } from './auth/accounts';
import type Database from 'better-sqlite3';
import type { CityModel } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { Role } from './config';
import type { NotifyDirectory } from './notify/directory';

export type LiveChannel = 'readings' | 'derived' | 'alarms' | 'gateways';

export interface AlarmCounts {
  critical: number;
  major: number;
  minor: number;
  warning: number;
}

/** What the server hands to every module. */
export interface ModuleContext {
  /** The state DB; modules create their own tables through `migrate`-style named migrations. */
  db: Database.Database;
  city: CityModel;
  requireRole(role: Role): express.RequestHandler;
  audit(user: string, action: string, detail: Record<string, unknown>): void;
  /** To WebSocket clients subscribed to `channel`; `message` is sent as JSON as is (include its `type`). */
  broadcast(channel: LiveChannel, message: unknown): void;
  mqttPublish(topic: string, payload: unknown, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  logger: Logger;
  now(): number;
  publicUrl: string;
  /** Accounts that can sign in (assignment pick lists). */
  users(): User[];
  /**
   * Where admins edit notification recipients and escalation (versioned in the state DB). A module that
   * notifies attaches its policy file here and applies `onChange` policies without a restart.
   */
  notifyDirectory?: NotifyDirectory;
}

/** How alarms/notify (and future features) plug into the server. */
export interface DashboardModule {
  name: string;
  /** MQTT subscriptions this module needs (QoS 1). */
  subscriptions?: string[];
  /**
   * Called for messages matching `subscriptions`. The server PUBACKs a QoS 1 message only after every
   * module's handler has resolved, so persist before resolving and the broker redelivers after a crash.
   */
  onMqttMessage?(topic: string, payload: Buffer): void | Promise<void>;
  /**
   * Routes under /api, declared like the core's: the server mounts them with the core route table (one
   * table, so a path defined twice is refused at start) and documents them in the OpenAPI document.
   */
  routes?(ctx: ModuleContext): RouteSpec[];
  /** Open alarms in a ward, for GET /api/overview. Without it the server counts rows of an `alarms` table if one exists. */
  overviewAlarmCounts?(ward: string): AlarmCounts;
  start?(ctx: ModuleContext): void | Promise<void>;
  close?(): void | Promise<void>;
}
