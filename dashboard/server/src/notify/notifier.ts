import type express from 'express';
import type Database from 'better-sqlite3';
import type { CityModel } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { migrate } from '../state-db';
import type { Alarm, AlarmChange } from '../alarms/model';
import { readAlarm } from '../alarms/store';
import { createCallbacks } from './callbacks';
import type { Channel, SendOutcome } from './channels/types';
import type { ZaloTokens } from './channels/zalo-tokens';
import { policyInForce, type NotifyContext } from './context';
import { createEscalator } from './escalation';
import { NOTIFY_MIGRATIONS, createOutbox, type OutboxRow } from './outbox';
import { createPlanner } from './planning';
import type { ChannelName, NotifyPolicy } from './policy';
import { createProviders, type ChannelOverrides } from './providers';
import { readdressWaiting } from './recipients';
import { createSender } from './sending';

export type { ChannelOverrides };

export interface NotifierOptions {
  db: Database.Database;
  policy: NotifyPolicy;
  city: CityModel;
  now(): number;
  publicUrl: string;
  logger: Logger;
  channels?: ChannelOverrides;
  getAlarm?(id: number): Alarm | undefined;
  /** Called with every send outcome (metrics). */
  onOutcome?(channel: ChannelName, outcome: SendOutcome['status']): void;
  /** Acknowledge on behalf of a recipient who replied; returns the alarm as it is afterwards. */
  acknowledge(alarmId: number, user: string, comment: string): Alarm | undefined;
}

export interface NotificationView {
  id: string;
  recipient: string;
  channel: ChannelName;
  state: string;
  ts: number;
  error: string | null;
  step: number;
  attempts: number;
  providerId: string | null;
  /** What the provider was handed (null until the first send attempt). */
  text: string | null;
  alarmId: number;
  address: string;
}

export interface Notifier {
  /** Plans notifications for a lifecycle change; synchronous, so it commits with the change itself. */
  plan(alarm: Alarm, change: AlarmChange): void;
  /** Stops escalation and cancels what waits to be sent (alarm shelved, or explained by its gateway's alarm). */
  silence(alarmId: number, reason: string): void;
  /** Fires due escalations and sends due messages. */
  tick(): Promise<void>;
  notificationsFor(alarmId: number): NotificationView[];
  /** Every notification sent or planned, newest first (the admins' sent-messages page). */
  notificationsPage(limit: number, offset: number): { items: NotificationView[]; total: number };
  /**
   * Recipients, groups and routes edited by an admin take effect from the next plan, escalation step or send;
   * providers, rate limits and the callback token stay as started (they come from the file).
   */
  setPolicy(policy: NotifyPolicy): void;
  routes(router: express.Router): void;
  handle: express.RequestHandler;
  readonly zaloTokens: ZaloTokens | undefined;
  close(): Promise<void>;
}

const viewOf = (r: OutboxRow): NotificationView => ({
  id: String(r.id),
  recipient: r.recipient,
  channel: r.channel,
  state: r.state,
  ts: r.updated_at,
  error: r.error,
  step: r.step,
  attempts: r.attempts,
  providerId: r.provider_id,
  text: r.text,
  alarmId: r.alarm_id,
  address: r.address,
});

/**
 * The notifier wires its parts, one job each: planning (who is told of a lifecycle change), escalation
 * (unacknowledged alarms climbing their routes), sending (outbox → providers, retries, fallbacks) and the
 * providers' callbacks (receipts, replies that acknowledge).
 */
export async function createNotifier(opts: NotifierOptions): Promise<Notifier> {
  const { db, logger, now } = opts;
  migrate(db, NOTIFY_MIGRATIONS);
  const outbox = createOutbox(db, now);
  const recovered = outbox.recover();
  if (recovered) logger.info({ recovered }, 'notifications caught mid-send put back in the outbox');
  const channels = new Map<ChannelName, Channel>();
  const ctx: NotifyContext = {
    db,
    logger,
    now,
    outbox,
    channels,
    timeZone: opts.policy.timeZone ?? opts.city.timeZone,
    publicUrl: opts.publicUrl,
    current: policyInForce(opts.policy),
    getAlarm: opts.getAlarm ?? ((id: number) => readAlarm(db, id)),
  };
  const callbacks = createCallbacks(ctx, { policy: opts.policy, acknowledge: opts.acknowledge });
  const { zaloTokens } = createProviders(channels, {
    db,
    providers: opts.policy.providers,
    now,
    logger,
    outbox,
    esmsCallbackUrl: `${opts.publicUrl.replace(/\/+$/, '')}/api/notify/esms/callback${callbacks.query}`,
    onSmsReply: (from, text) => void callbacks.smsReply(from, text, 'smpp'),
    ...(opts.channels ? { overrides: opts.channels } : {}),
  });
  const planner = createPlanner(ctx);
  const escalator = createEscalator(ctx, planner);
  const sender = createSender(ctx, opts.onOutcome);

  return {
    plan: planner.plan,
    async tick() {
      escalator.escalateDue(now());
      await sender.sendDue();
    },
    setPolicy(next) {
      ctx.current = policyInForce(next);
      readdressWaiting(ctx);
      logger.info({ recipients: next.recipients.length, routes: next.routes.length }, 'notification recipients and escalation updated');
    },
    silence: planner.silence,
    notificationsFor: (alarmId) => outbox.forAlarm(alarmId).map(viewOf),
    notificationsPage(limit, offset) {
      const { rows, total } = outbox.page(limit, offset);
      return { items: rows.map(viewOf), total };
    },
    routes(router) {
      router.use(callbacks.router);
    },
    handle: (req, res, next) => callbacks.router(req, res, next),
    zaloTokens,
    async close() {
      for (const ch of channels.values()) await ch.close?.().catch(() => undefined);
    },
  };
}
