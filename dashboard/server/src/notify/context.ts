import type Database from 'better-sqlite3';
import type { Logger } from '@tamky/service-kit';
import type { Alarm } from '../alarms/model';
import type { Channel } from './channels/types';
import type { Outbox } from './outbox';
import type { ChannelName, NotifyPolicy, Recipient, Route } from './policy';

/** The policy in force and its lookups; replaced as a whole when an admin edits recipients or escalation. */
export interface PolicyInForce {
  policy: NotifyPolicy;
  recipients: Map<string, Recipient>;
  routesById: Map<string, Route>;
}

export const policyInForce = (policy: NotifyPolicy): PolicyInForce => ({
  policy,
  recipients: new Map(policy.recipients.map((r) => [r.id, r])),
  routesById: new Map(policy.routes.map((r) => [r.id, r])),
});

/** What the notifier's parts (planning, escalation, sending, provider callbacks) share. */
export interface NotifyContext {
  db: Database.Database;
  logger: Logger;
  now(): number;
  outbox: Outbox;
  /** Providers by channel, as configured at start (or handed in by a test or the demo). */
  channels: Map<ChannelName, Channel>;
  /** The policy's time zone, else the city's: quiet hours and on-call shifts are local. */
  timeZone: string;
  publicUrl: string;
  current: PolicyInForce;
  getAlarm(id: number): Alarm | undefined;
}
