import express from 'express';
import type Database from 'better-sqlite3';
import { createHash, timingSafeEqual } from 'node:crypto';
import { formatNumberIn, type CityModel } from '@tamky/protocol';
import { backoffDelay, type Logger } from '@tamky/service-kit';
import { migrate } from '../state-db';
import type { Alarm, AlarmChange } from '../alarms/model';
import { readAlarm } from '../alarms/store';
import { createEmailChannel } from './channels/email';
import { createEsmsChannel } from './channels/esms';
import { createSmppChannel } from './channels/smpp';
import type { Channel, OutgoingMessage, SendOutcome } from './channels/types';
import { createWebhookChannel } from './channels/webhook';
import { createZaloChannel } from './channels/zalo';
import { createZaloTokens, type ZaloTokens } from './channels/zalo-tokens';
import { NOTIFY_MIGRATIONS, createOutbox, type OutboxRow } from './outbox';
import { normalisePhone } from './phone';
import {
  CHANNELS,
  notBefore,
  resolveRecipients,
  routesFor,
  type ChannelName,
  type NotifyPolicy,
  type Recipient,
  type Route,
} from './policy';
import { createRateLimiter } from './rate-limit';
import { alarmLink, notificationText, parseAckReply } from './text';

export type ChannelOverrides = Partial<Record<ChannelName, Channel>>;

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

interface EscalationRow {
  alarm_id: number;
  route_id: string;
  next_step: number;
  due_at: number;
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

export async function createNotifier(opts: NotifierOptions): Promise<Notifier> {
  const { db, logger, now } = opts;
  let policy = opts.policy;
  migrate(db, NOTIFY_MIGRATIONS);
  const outbox = createOutbox(db, now);
  const recovered = outbox.recover();
  if (recovered) logger.info({ recovered }, 'notifications caught mid-send put back in the outbox');
  const timeZone = policy.timeZone ?? opts.city.timeZone;
  let recipients = new Map(policy.recipients.map((r) => [r.id, r]));
  let routesById = new Map(policy.routes.map((r) => [r.id, r]));
  const limiter = createRateLimiter(policy.rateLimits, now);
  // An unresolved "${VAR}" is no secret: treat it as unset, which closes the token-checked callbacks.
  const callbackToken = policy.callbackToken && !policy.callbackToken.includes('${') ? policy.callbackToken : undefined;
  if (!callbackToken)
    logger.warn(
      'notify: no callbackToken configured; SMS delivery/reply callbacks are refused (Zalo webhooks still need a valid signature)',
    );
  const callbackQuery = callbackToken ? `?token=${encodeURIComponent(callbackToken)}` : '';
  const apiBase = `${opts.publicUrl.replace(/\/+$/, '')}/api/notify`;
  const getAlarm = opts.getAlarm ?? ((id: number) => readAlarm(db, id));

  // Providers: built from the policy unless a test or the demo hands in its own.
  const channels = new Map<ChannelName, Channel>();
  let zaloTokens: ZaloTokens | undefined;
  const p = policy.providers;
  if (p.zalo) {
    zaloTokens = createZaloTokens(
      db,
      {
        tokenUrl: p.zalo.tokenUrl,
        appId: p.zalo.appId,
        secretKey: p.zalo.secretKey,
        refreshToken: p.zalo.refreshToken,
        timeoutMs: p.zalo.timeoutMs,
      },
      now,
    );
    channels.set('zalo', createZaloChannel(p.zalo, zaloTokens));
  }
  if (p.esms) channels.set('sms', createEsmsChannel({ ...p.esms, callbackUrl: `${apiBase}/esms/callback${callbackQuery}` }));
  if (p.smpp)
    channels.set(
      'smpp',
      createSmppChannel(
        p.smpp,
        {
          onReceipt: (id, delivered, stat) => outbox.receipt('smpp', id, delivered, delivered ? undefined : `smpp ${stat}`),
          onMessage: (from, text) => handleReply(byPhone(from), text, 'smpp'),
        },
        logger,
      ),
    );
  if (p.email) channels.set('email', createEmailChannel(p.email));
  if (p.webhook) channels.set('webhook', createWebhookChannel(p.webhook, logger));
  for (const [name, ch] of Object.entries(opts.channels ?? {})) if (ch) channels.set(name as ChannelName, ch);

  function addressFor(r: Recipient, channel: ChannelName): string | undefined {
    if (channel === 'email') return r.email;
    if (channel === 'webhook') return r.webhookUrl;
    return r.phone ? normalisePhone(r.phone) : undefined;
  }

  function byPhone(phone: string): Recipient | undefined {
    const n = normalisePhone(phone);
    return n ? policy.recipients.find((r) => r.phone && normalisePhone(r.phone) === n) : undefined;
  }

  function enqueueFor(alarm: Alarm, r: Recipient, step: number, chain: ChannelName[], kind: 'alarm' | 'cleared', t: number): void {
    const usable = chain.filter((c) => channels.has(c) && addressFor(r, c));
    const channel = usable[0];
    if (!channel) {
      logger.warn({ recipient: r.id, alarm: alarm.id, chain }, 'recipient has no usable channel');
      return;
    }
    let dueAt = notBefore(policy, alarm.severity, t, timeZone);
    // Grouping: hold non-urgent messages briefly so a burst of related alarms becomes one message.
    if (!policy.grouping.immediateSeverities.includes(alarm.severity)) dueAt += policy.grouping.windowS * 1000;
    outbox.enqueue({
      alarmId: alarm.id,
      recipient: r.id,
      channel,
      address: addressFor(r, channel)!,
      chain: usable,
      step,
      kind,
      locale: r.locale ?? policy.locale,
      dueAt,
    });
  }

  function fireStep(alarm: Alarm, route: Route, step: number, t: number): void {
    const s = route.steps[step];
    if (!s) return;
    for (const r of resolveRecipients(policy, s.to, t, timeZone)) enqueueFor(alarm, r, step, s.channels ?? r.channels, 'alarm', t);
  }

  const scheduleStmt = db.prepare('INSERT OR REPLACE INTO notify_escalations (alarm_id, route_id, next_step, due_at) VALUES (?, ?, ?, ?)');
  function schedule(alarm: Alarm, route: Route, step: number): void {
    const s = route.steps[step];
    if (s) scheduleStmt.run(alarm.id, route.id, step, alarm.openedAt + s.afterMin * 60_000);
    else db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ? AND route_id = ?').run(alarm.id, route.id);
  }

  function plan(alarm: Alarm, change: AlarmChange): void {
    const t = now();
    if (change === 'raised') {
      const existing = new Set(
        (db.prepare('SELECT route_id FROM notify_escalations WHERE alarm_id = ?').all(alarm.id) as Array<{ route_id: string }>).map(
          (r) => r.route_id,
        ),
      );
      const started = new Set(outbox.forAlarm(alarm.id).map((r) => r.step));
      for (const route of routesFor(policy, alarm)) {
        if (existing.has(route.id)) continue;
        // Severity escalated into a new route, or a first raise: start at the first step not yet due later.
        let step = 0;
        while (route.steps[step] && alarm.openedAt + route.steps[step]!.afterMin * 60_000 <= t) {
          if (!(step > 0 && started.has(step))) fireStep(alarm, route, step, t);
          step++;
        }
        schedule(alarm, route, step);
      }
      return;
    }
    if (change === 'acknowledged' || change === 'cleared') {
      db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ?').run(alarm.id);
      const cancelled = outbox.cancelPending(alarm.id, change);
      if (cancelled) logger.info({ alarm: alarm.id, cancelled, change }, 'pending notifications cancelled');
      if (change === 'cleared') {
        const told = new Set(
          outbox
            .forAlarm(alarm.id)
            .filter((r) => r.kind === 'alarm' && (r.state === 'accepted' || r.state === 'delivered'))
            .map((r) => r.recipient),
        );
        for (const route of routesFor(policy, alarm)) {
          if (!route.notifyClear) continue;
          for (const id of told) {
            const r = recipients.get(id);
            if (r) enqueueFor(alarm, r, 0, r.channels, 'cleared', t);
          }
        }
      }
    }
  }

  const escalate = db.transaction((row: EscalationRow, t: number) => {
    const alarm = getAlarm(row.alarm_id);
    const route = routesById.get(row.route_id);
    if (!alarm || !route || alarm.state !== 'active' || alarm.parentId !== null || alarm.shelfId !== null) {
      db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ? AND route_id = ?').run(row.alarm_id, row.route_id);
      return;
    }
    fireStep(alarm, route, row.next_step, t);
    schedule(alarm, route, row.next_step + 1);
  });

  function messageFor(rows: OutboxRow[]): OutgoingMessage | undefined {
    const alarms = rows.map((r) => getAlarm(r.alarm_id)).filter((a): a is Alarm => a !== undefined);
    const lead = rows[0]!;
    if (alarms.length === 0) return undefined;
    const replyable = lead.channel !== 'email' && lead.channel !== 'webhook';
    const { subject, text } = notificationText(alarms, {
      locale: lead.locale,
      sender: policy.senderName,
      publicUrl: opts.publicUrl,
      kind: lead.kind,
      replyable,
    });
    const first = alarms[0]!;
    return {
      to: lead.address,
      subject,
      text,
      idempotencyKey: lead.key,
      alarmIds: alarms.map((a) => a.id),
      templateData: {
        alarm_id: String(first.id),
        severity: first.severity,
        message: first.message[lead.locale].slice(0, 200),
        // Written the recipient's way ("4,2" in Vietnamese), like the numbers inside the message.
        value: first.value === null ? '' : formatNumberIn(lead.locale, first.value),
        limit: first.limit === null ? '' : formatNumberIn(lead.locale, first.limit),
        count: String(alarms.length),
        link: alarmLink(opts.publicUrl, first.id),
      },
    };
  }

  function fallbackOrFail(rows: OutboxRow[], error: string): void {
    const t = now();
    db.transaction(() => {
      for (const row of rows) {
        const chain = JSON.parse(row.chain) as ChannelName[];
        const r = recipients.get(row.recipient);
        const rest = chain.slice(chain.indexOf(row.channel) + 1).filter((c) => channels.has(c) && r && addressFor(r, c));
        const next = rest[0];
        if (!r || !next) {
          outbox.finish([row.id], 'failed', error);
          continue;
        }
        outbox.finish([row.id], 'fallback', error);
        outbox.enqueue({
          alarmId: row.alarm_id,
          recipient: row.recipient,
          channel: next,
          address: addressFor(r, next)!,
          chain: rest,
          step: row.step,
          kind: row.kind,
          locale: row.locale,
          dueAt: t,
        });
      }
    })();
  }

  async function sendBatch(rows: OutboxRow[]): Promise<void> {
    const lead = rows[0]!;
    const ids = rows.map((r) => r.id);
    const channel = channels.get(lead.channel);
    const message = messageFor(rows);
    if (!channel || !message) {
      if (!message) outbox.finish(ids, 'cancelled', 'alarm gone');
      else fallbackOrFail(rows, `channel ${lead.channel} not configured`);
      return;
    }
    outbox.recordText(ids, message.text);
    let outcome: SendOutcome;
    try {
      outcome = await channel.send(message);
    } catch (err) {
      outcome = { status: 'retry', error: (err as Error).message };
    }
    opts.onOutcome?.(lead.channel, outcome.status);
    logger.info(
      {
        channel: lead.channel,
        recipient: lead.recipient,
        alarms: message.alarmIds,
        outcome: outcome.status,
        error: 'error' in outcome ? outcome.error : undefined,
      },
      'notification',
    );
    switch (outcome.status) {
      case 'accepted':
        outbox.accepted(ids, outcome.providerId);
        return;
      case 'retry':
        if (lead.attempts >= policy.retry.maxAttempts)
          return fallbackOrFail(rows, `${outcome.error} (gave up after ${lead.attempts} attempts)`);
        outbox.retryLater(
          ids,
          now() + (outcome.delayMs ?? Math.max(1000, backoffDelay(lead.attempts, policy.retry.baseMs, policy.retry.maxMs))),
          outcome.error,
        );
        return;
      case 'fallback':
        return fallbackOrFail(rows, outcome.error);
      case 'permanent':
        outbox.finish(ids, 'failed', outcome.error);
        return;
    }
  }

  async function tick(): Promise<void> {
    const t = now();
    const due = db.prepare('SELECT * FROM notify_escalations WHERE due_at <= ? ORDER BY due_at').all(t) as EscalationRow[];
    for (const row of due) escalate.immediate(row, t);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      const skip = new Set<string>(CHANNELS.filter((c) => limiter.empty(c)));
      const rows = outbox.claimNext(policy.grouping.maxAlarms, skip);
      if (rows.length === 0) break;
      limiter.take(rows[0]!.channel);
      sends.push(sendBatch(rows).catch((err) => logger.error({ err }, 'notification send failed')));
    }
    await Promise.all(sends);
  }

  function handleReply(r: Recipient | undefined, text: string, via: string): { acked?: number; ignored?: string } {
    if (!r) return { ignored: 'unknown sender' };
    let id = parseAckReply(text);
    if (id === undefined && /^\s*(ok|xn|ack)\s*[.!]?\s*$/i.test(text)) {
      // A bare "OK" is unambiguous only when exactly one active alarm was sent to this person.
      const open = outbox.activeNotifiedAlarms(r.id);
      if (open.length !== 1) return { ignored: open.length ? 'several alarms open: reply "OK <number>"' : 'no open alarm' };
      id = open[0];
    }
    if (id === undefined) return { ignored: 'not an acknowledgement' };
    // Only someone who was told about this alarm may acknowledge it by reply.
    if (!outbox.wasNotified(id, r.id)) {
      logger.warn({ recipient: r.id, alarm: id, via }, 'reply for an alarm this recipient was not notified about');
      return { ignored: 'not notified about this alarm' };
    }
    const alarm = opts.acknowledge(id, r.id, `reply via ${via}: ${text.slice(0, 100)}`);
    return alarm ? { acked: id } : { ignored: 'no such alarm' };
  }

  const tokenOk = (req: express.Request) => {
    if (!callbackToken) return false;
    const given = Buffer.from(String(req.query.token ?? ''));
    const want = Buffer.from(callbackToken);
    return given.length === want.length && timingSafeEqual(given, want);
  };

  const callbacks = express.Router();
  const bodies = [express.json({ limit: '64kb' }), express.urlencoded({ extended: false, limit: '64kb' })];
  callbacks.post('/notify/esms/callback', ...bodies, (req, res) => {
    if (!tokenOk(req)) return void res.status(403).json({ error: 'forbidden', message: 'bad token' });
    const b = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
    const status = String(b.SendStatus ?? b.sendStatus ?? '').toLowerCase();
    const delivered = status === '2' || status === 'success' || status === 'delivered';
    const ids = [b.SMSID, b.RequestId].filter((x) => x !== undefined).map(String);
    let updated = 0;
    for (const id of ids) updated += outbox.receipt('sms', id, delivered, delivered ? undefined : `esms SendStatus ${status}`);
    res.json({ ok: true, updated });
  });
  callbacks.post('/notify/sms/inbound', ...bodies, (req, res) => {
    if (!tokenOk(req)) return void res.status(403).json({ error: 'forbidden', message: 'bad token' });
    const b = (req.body ?? {}) as Record<string, unknown>;
    const from = String(b.Phone ?? b.phone ?? b.from ?? '');
    const text = String(b.Content ?? b.content ?? b.text ?? '');
    res.json({ ok: true, ...handleReply(byPhone(from), text, 'sms') });
  });
  callbacks.post('/notify/zalo/webhook', ...bodies, (req, res) => {
    const body = (req.body ?? {}) as {
      app_id?: string;
      event_name?: string;
      timestamp?: string;
      sender?: { id?: string };
      message?: { text?: string; msg_id?: string };
    };
    const signed = zaloSignatureOk(req, body);
    if (!signed && !tokenOk(req)) return void res.status(403).json({ error: 'forbidden', message: 'bad signature' });
    if (body.event_name === 'user_received_message' && body.message?.msg_id) {
      return void res.json({ ok: true, updated: outbox.receipt('zalo', body.message.msg_id, true) });
    }
    if (body.event_name === 'user_send_text') {
      const r = policy.recipients.find((x) => x.zaloUserId && x.zaloUserId === body.sender?.id);
      return void res.json({ ok: true, ...handleReply(r, body.message?.text ?? '', 'zalo') });
    }
    res.json({ ok: true, ignored: body.event_name ?? 'unknown event' });
  });

  // Zalo signs webhooks: X-ZEvent-Signature = "mac=" + sha256(appId + body + timestamp + OA secret).
  function zaloSignatureOk(req: express.Request, body: { app_id?: string; timestamp?: string }): boolean {
    const secret = p.zalo?.oaSecretKey;
    const header = req.get('x-zevent-signature');
    if (!secret || !header || !p.zalo) return false;
    const mac = createHash('sha256')
      .update(`${p.zalo.appId}${JSON.stringify(req.body)}${body.timestamp ?? ''}${secret}`)
      .digest('hex');
    const given = Buffer.from(header.replace(/^mac=/, ''));
    const want = Buffer.from(mac);
    return given.length === want.length && timingSafeEqual(given, want);
  }

  return {
    plan,
    tick,
    setPolicy(next) {
      policy = next;
      recipients = new Map(next.recipients.map((r) => [r.id, r]));
      routesById = new Map(next.routes.map((r) => [r.id, r]));
      // Messages still waiting (grouping window, quiet hours, a retry) go to the address as it is now: a
      // corrected number gets the retry; a removed recipient or address gets nothing.
      const waiting = db.prepare("SELECT id, recipient, channel, address FROM notifications WHERE state = 'pending'").all() as Array<{
        id: number;
        recipient: string;
        channel: ChannelName;
        address: string;
      }>;
      const readdress = db.prepare('UPDATE notifications SET address = ?, updated_at = ? WHERE id = ?');
      const cancel = db.prepare(
        "UPDATE notifications SET state = 'cancelled', error = ?, updated_at = ? WHERE id = ? AND state = 'pending'",
      );
      let moved = 0;
      let cancelled = 0;
      db.transaction(() => {
        for (const w of waiting) {
          const r = recipients.get(w.recipient);
          const address = r ? addressFor(r, w.channel) : undefined;
          if (!address) {
            cancel.run(r ? `recipient has no ${w.channel} address any more` : 'recipient removed', now(), w.id);
            cancelled++;
          } else if (address !== w.address) {
            readdress.run(address, now(), w.id);
            moved++;
          }
        }
      })();
      if (moved || cancelled) logger.info({ moved, cancelled }, 'waiting notifications follow the edited recipients');
      logger.info({ recipients: next.recipients.length, routes: next.routes.length }, 'notification recipients and escalation updated');
    },
    silence(alarmId, reason) {
      db.prepare('DELETE FROM notify_escalations WHERE alarm_id = ?').run(alarmId);
      const cancelled = outbox.cancelPending(alarmId, reason);
      if (cancelled) logger.info({ alarm: alarmId, cancelled, reason }, 'pending notifications cancelled');
    },
    notificationsFor: (alarmId) => outbox.forAlarm(alarmId).map(viewOf),
    notificationsPage(limit, offset) {
      const { rows, total } = outbox.page(limit, offset);
      return { items: rows.map(viewOf), total };
    },
    routes(router) {
      router.use(callbacks);
    },
    handle: (req, res, next) => callbacks(req, res, next),
    zaloTokens,
    async close() {
      for (const ch of channels.values()) await ch.close?.().catch(() => undefined);
    },
  };
}
