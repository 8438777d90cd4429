import type Database from 'better-sqlite3';
import type { Logger } from '@tamky/service-kit';
import { createEmailChannel } from './channels/email';
import { createEsmsChannel } from './channels/esms';
import { createSmppChannel } from './channels/smpp';
import type { Channel } from './channels/types';
import { createWebhookChannel } from './channels/webhook';
import { createZaloChannel } from './channels/zalo';
import { createZaloTokens, type ZaloTokens } from './channels/zalo-tokens';
import type { Outbox } from './outbox';
import type { ChannelName, NotifyPolicy } from './policy';

export type ChannelOverrides = Partial<Record<ChannelName, Channel>>;

/** The providers behind each channel, built from the policy file unless a test or the demo hands in its own. */
export function createProviders(
  into: Map<ChannelName, Channel>,
  opts: {
    db: Database.Database;
    providers: NotifyPolicy['providers'];
    now(): number;
    logger: Logger;
    outbox: Outbox;
    /** Where eSMS posts delivery receipts (our callback URL with its token). */
    esmsCallbackUrl: string;
    /** An SMS reply received over SMPP. */
    onSmsReply(from: string, text: string): void;
    overrides?: ChannelOverrides;
  },
): { zaloTokens: ZaloTokens | undefined } {
  const { db, now, logger, outbox } = opts;
  const p = opts.providers;
  let zaloTokens: ZaloTokens | undefined;
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
    into.set('zalo', createZaloChannel(p.zalo, zaloTokens));
  }
  if (p.esms) into.set('sms', createEsmsChannel({ ...p.esms, callbackUrl: opts.esmsCallbackUrl }));
  if (p.smpp)
    into.set(
      'smpp',
      createSmppChannel(
        p.smpp,
        {
          onReceipt: (id, delivered, stat) => outbox.receipt('smpp', id, delivered, delivered ? undefined : `smpp ${stat}`),
          onMessage: (from, text) => opts.onSmsReply(from, text),
        },
        logger,
      ),
    );
  if (p.email) into.set('email', createEmailChannel(p.email));
  if (p.webhook) into.set('webhook', createWebhookChannel(p.webhook, logger));
  for (const [name, ch] of Object.entries(opts.overrides ?? {})) if (ch) into.set(name as ChannelName, ch);
  return { zaloTokens };
}
