import express from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Alarm } from '../alarms/model';
import type { NotifyContext } from './context';
import type { NotifyPolicy, Recipient } from './policy';
import { recipientByPhone } from './recipients';
import { parseAckReply } from './text';

/**
 * What providers call back with: delivery receipts (eSMS, Zalo, SMPP) and replies that acknowledge an alarm
 * ("OK 42" by SMS or Zalo). SMS callbacks carry the policy's callback token; Zalo signs its webhooks.
 */
export function createCallbacks(
  ctx: NotifyContext,
  opts: {
    /** Providers and the callback token as started (they come from the policy file). */
    policy: NotifyPolicy;
    /** Acknowledge on behalf of a recipient who replied; returns the alarm as it is afterwards. */
    acknowledge(alarmId: number, user: string, comment: string): Alarm | undefined;
  },
) {
  const { logger, outbox } = ctx;
  const p = opts.policy.providers;
  // An unresolved "${VAR}" is no secret: treat it as unset, which closes the token-checked callbacks.
  const callbackToken = opts.policy.callbackToken && !opts.policy.callbackToken.includes('${') ? opts.policy.callbackToken : undefined;
  if (!callbackToken)
    logger.warn(
      'notify: no callbackToken configured; SMS delivery/reply callbacks are refused (Zalo webhooks still need a valid signature)',
    );

  const byPhone = (phone: string) => recipientByPhone(ctx.current.policy.recipients, phone);

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

  const router = express.Router();
  const bodies = [express.json({ limit: '64kb' }), express.urlencoded({ extended: false, limit: '64kb' })];
  router.post('/notify/esms/callback', ...bodies, (req, res) => {
    if (!tokenOk(req)) return void res.status(403).json({ error: 'forbidden', message: 'bad token' });
    const b = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
    const status = String(b.SendStatus ?? b.sendStatus ?? '').toLowerCase();
    const delivered = status === '2' || status === 'success' || status === 'delivered';
    const ids = [b.SMSID, b.RequestId].filter((x) => x !== undefined).map(String);
    let updated = 0;
    for (const id of ids) updated += outbox.receipt('sms', id, delivered, delivered ? undefined : `esms SendStatus ${status}`);
    res.json({ ok: true, updated });
  });
  router.post('/notify/sms/inbound', ...bodies, (req, res) => {
    if (!tokenOk(req)) return void res.status(403).json({ error: 'forbidden', message: 'bad token' });
    const b = (req.body ?? {}) as Record<string, unknown>;
    const from = String(b.Phone ?? b.phone ?? b.from ?? '');
    const text = String(b.Content ?? b.content ?? b.text ?? '');
    res.json({ ok: true, ...handleReply(byPhone(from), text, 'sms') });
  });
  router.post('/notify/zalo/webhook', ...bodies, (req, res) => {
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
      const r = ctx.current.policy.recipients.find((x) => x.zaloUserId && x.zaloUserId === body.sender?.id);
      return void res.json({ ok: true, ...handleReply(r, body.message?.text ?? '', 'zalo') });
    }
    res.json({ ok: true, ignored: body.event_name ?? 'unknown event' });
  });

  return {
    router,
    /** An SMS reply that arrived another way (SMPP deliver_sm). */
    smsReply: (from: string, text: string, via: string) => handleReply(byPhone(from), text, via),
    /** The query string SMS providers append to our callback URLs. */
    query: callbackToken ? `?token=${encodeURIComponent(callbackToken)}` : '',
  };
}
