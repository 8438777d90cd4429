import { createHmac } from 'node:crypto';
import type { Channel, SendOutcome } from './types';
import { shortKey } from './types';

/** POSTs JSON to the recipient's URL with an Idempotency-Key and, if configured, an HMAC-SHA256 signature. */
export function createWebhookChannel(cfg: { secret?: string; timeoutMs: number }): Channel {
  return {
    async send(m): Promise<SendOutcome> {
      const body = JSON.stringify({ alarmIds: m.alarmIds, subject: m.subject, text: m.text, key: shortKey(m.idempotencyKey) });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': shortKey(m.idempotencyKey) };
      if (cfg.secret) headers['x-signature-sha256'] = createHmac('sha256', cfg.secret).update(body).digest('hex');
      try {
        const res = await fetch(m.to, { method: 'POST', headers, body, signal: AbortSignal.timeout(cfg.timeoutMs) });
        await res.arrayBuffer();
        if (res.ok) return { status: 'accepted', providerId: res.headers.get('x-request-id') ?? shortKey(m.idempotencyKey) };
        if (res.status === 408 || res.status === 429 || res.status >= 500) return { status: 'retry', error: `webhook HTTP ${res.status}` };
        return { status: 'permanent', error: `webhook HTTP ${res.status}` };
      } catch (err) {
        return { status: 'retry', error: `webhook: ${(err as Error).message}` };
      }
    },
  };
}
