import type { NotifyContext } from './context';
import { normalisePhone } from './phone';
import type { ChannelName, Recipient } from './policy';

/** Where a channel reaches a recipient: the e-mail address, the webhook URL, or the phone number as 84…. */
export function addressFor(r: Recipient, channel: ChannelName): string | undefined {
  if (channel === 'email') return r.email;
  if (channel === 'webhook') return r.webhookUrl;
  return r.phone ? normalisePhone(r.phone) : undefined;
}

/** The recipient an SMS came from. */
export function recipientByPhone(recipients: Recipient[], phone: string): Recipient | undefined {
  const n = normalisePhone(phone);
  return n ? recipients.find((r) => r.phone && normalisePhone(r.phone) === n) : undefined;
}

/**
 * Messages still waiting (grouping window, quiet hours, a retry) go to the address as it is now: a corrected
 * number gets the retry; a removed recipient or address gets nothing.
 */
export function readdressWaiting(ctx: NotifyContext): void {
  const { db, now, logger } = ctx;
  const waiting = db.prepare("SELECT id, recipient, channel, address FROM notifications WHERE state = 'pending'").all() as Array<{
    id: number;
    recipient: string;
    channel: ChannelName;
    address: string;
  }>;
  const readdress = db.prepare('UPDATE notifications SET address = ?, updated_at = ? WHERE id = ?');
  const cancel = db.prepare("UPDATE notifications SET state = 'cancelled', error = ?, updated_at = ? WHERE id = ? AND state = 'pending'");
  let moved = 0;
  let cancelled = 0;
  db.transaction(() => {
    for (const w of waiting) {
      const r = ctx.current.recipients.get(w.recipient);
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
}
