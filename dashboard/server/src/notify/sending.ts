import { formatNumberIn } from '@tamky/protocol';
import { backoffDelay } from '@tamky/service-kit';
import type { Alarm } from '../alarms/model';
import type { OutgoingMessage, SendOutcome } from './channels/types';
import type { NotifyContext } from './context';
import type { OutboxRow } from './outbox';
import { CHANNELS, type ChannelName } from './policy';
import { createRateLimiter } from './rate-limit';
import { addressFor } from './recipients';
import { alarmLink, notificationText } from './text';

/**
 * Sends what the outbox holds when it is due: claims rows (grouped per recipient and channel, within each
 * channel's rate limit), writes the text, hands it to the provider with its idempotency key, and records the
 * outcome: accepted, retried with backoff, or passed along the recipient's fallback chain until it fails.
 */
export function createSender(ctx: NotifyContext, onOutcome?: (channel: ChannelName, outcome: SendOutcome['status']) => void) {
  const { db, logger, now, outbox, channels } = ctx;
  // Rate limits stay as started: they come from the policy file, not from the admin's edits.
  const limiter = createRateLimiter(ctx.current.policy.rateLimits, now);

  function messageFor(rows: OutboxRow[]): OutgoingMessage | undefined {
    const alarms = rows.map((r) => ctx.getAlarm(r.alarm_id)).filter((a): a is Alarm => a !== undefined);
    const lead = rows[0]!;
    if (alarms.length === 0) return undefined;
    const replyable = lead.channel !== 'email' && lead.channel !== 'webhook';
    const { subject, text } = notificationText(alarms, {
      locale: lead.locale,
      sender: ctx.current.policy.senderName,
      publicUrl: ctx.publicUrl,
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
        link: alarmLink(ctx.publicUrl, first.id),
      },
    };
  }

  function fallbackOrFail(rows: OutboxRow[], error: string): void {
    const t = now();
    db.transaction(() => {
      for (const row of rows) {
        const chain = JSON.parse(row.chain) as ChannelName[];
        const r = ctx.current.recipients.get(row.recipient);
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
    const { policy } = ctx.current;
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
    onOutcome?.(lead.channel, outcome.status);
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

  return {
    /** Sends every message due now (a bounded number of batches per call), concurrently across batches. */
    async sendDue(): Promise<void> {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        const skip = new Set<string>(CHANNELS.filter((c) => limiter.empty(c)));
        const rows = outbox.claimNext(ctx.current.policy.grouping.maxAlarms, skip);
        if (rows.length === 0) break;
        limiter.take(rows[0]!.channel);
        sends.push(sendBatch(rows).catch((err) => logger.error({ err }, 'notification send failed')));
      }
      await Promise.all(sends);
    },
  };
}
