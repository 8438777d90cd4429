import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '@tamky/service-kit';
import type { Channel, SendOutcome } from './types';
import { shortKey } from './types';
import { createWebhookTargets, WebhookTargetError, type Resolve, type WebhookTargetPolicy } from './webhook-target';

export interface WebhookConfig extends WebhookTargetPolicy {
  secret?: string | undefined;
  timeoutMs: number;
}

/**
 * What the notification row (visible to every signed-in role on the alarm page) says when a webhook did not
 * arrive. One text for refused targets, refused connections and timeouts alike, so the page is no oracle for
 * probing the network; the reason goes to the server log.
 */
export const WEBHOOK_NOT_DELIVERED = 'webhook: not delivered (reason in the server log)';

/**
 * POSTs JSON to the recipient's URL with an Idempotency-Key and, if configured, an HMAC-SHA256 signature.
 * Only to allowed targets (https, allow-listed hosts, public addresses after resolution); redirects are
 * not followed.
 */
export function createWebhookChannel(cfg: WebhookConfig, logger?: Logger, resolve?: Resolve): Channel {
  const targets = createWebhookTargets(cfg, resolve);
  return {
    async send(m): Promise<SendOutcome> {
      const problem = targets.checkUrl(m.to);
      if (problem) {
        logger?.warn({ url: m.to, problem }, 'webhook target refused');
        return { status: 'permanent', error: WEBHOOK_NOT_DELIVERED };
      }
      const body = JSON.stringify({ alarmIds: m.alarmIds, subject: m.subject, text: m.text, key: shortKey(m.idempotencyKey) });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'idempotency-key': shortKey(m.idempotencyKey),
      };
      if (cfg.secret) headers['x-signature-sha256'] = createHmac('sha256', cfg.secret).update(body).digest('hex');
      try {
        const { status, requestId } = await post(m.to, headers, body, targets.lookup, cfg.timeoutMs);
        if (status >= 200 && status < 300) return { status: 'accepted', providerId: requestId ?? shortKey(m.idempotencyKey) };
        if (status === 408 || status === 429 || status >= 500) return { status: 'retry', error: `webhook HTTP ${status}` };
        if (status >= 300 && status < 400) logger?.warn({ url: m.to, status }, 'webhook answered with a redirect: not followed');
        return { status: 'permanent', error: `webhook HTTP ${status}` };
      } catch (err) {
        logger?.warn({ url: m.to, err: (err as Error).message }, 'webhook not delivered');
        if (err instanceof WebhookTargetError) return { status: 'permanent', error: WEBHOOK_NOT_DELIVERED };
        return { status: 'retry', error: WEBHOOK_NOT_DELIVERED };
      }
    },
  };
}

/** One POST, no redirects, connected through `lookup` (the checked addresses). */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  lookup: import('node:net').LookupFunction,
  timeoutMs: number,
): Promise<{ status: number; requestId: string | undefined }> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, lookup, agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          requestId: typeof res.headers['x-request-id'] === 'string' ? res.headers['x-request-id'] : undefined,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
