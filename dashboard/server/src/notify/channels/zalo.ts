import type { Channel, OutgoingMessage, SendOutcome } from './types';
import { postJson, shortKey } from './types';
import type { ZaloTokens } from './zalo-tokens';

/**
 * Zalo ZNS template messages. HTTP 200 carries success and failure alike; `error` decides:
 * 0 accepted; −124 token invalid → refresh and retry once; −118 no Zalo account → fall back (SMS);
 * −100 unknown → retry later; anything else → give up. A timeout also falls back: the person must be reached.
 */
export function createZaloChannel(cfg: { sendUrl: string; templateId: string; timeoutMs: number }, tokens: ZaloTokens): Channel {
  async function attempt(m: OutgoingMessage, token: string) {
    return postJson(
      cfg.sendUrl,
      { phone: m.to, template_id: cfg.templateId, template_data: m.templateData, tracking_id: shortKey(m.idempotencyKey) },
      { headers: { access_token: token }, timeoutMs: cfg.timeoutMs },
    );
  }

  return {
    async send(m): Promise<SendOutcome> {
      let token: string;
      try {
        token = await tokens.get();
      } catch (err) {
        return { status: 'retry', error: (err as Error).message };
      }
      for (let i = 0; i < 2; i++) {
        const res = await attempt(m, token);
        if ('error' in res)
          return res.timeout
            ? { status: 'fallback', error: `zalo timeout: ${res.error}` }
            : { status: 'retry', error: `zalo: ${res.error}` };
        if (res.status >= 500) return { status: 'retry', error: `zalo HTTP ${res.status}` };
        const body = res.json as { error?: number; message?: string; data?: { msg_id?: string } } | undefined;
        const code = Number(body?.error ?? NaN);
        const why = `zalo ${code}: ${body?.message ?? `HTTP ${res.status}`}`;
        if (code === 0) return { status: 'accepted', providerId: String(body?.data?.msg_id ?? shortKey(m.idempotencyKey)) };
        if (code === -124 && i === 0) {
          try {
            token = await tokens.refresh(token);
          } catch (err) {
            return { status: 'retry', error: (err as Error).message };
          }
          continue;
        }
        if (code === -124) return { status: 'retry', error: why };
        if (code === -118) return { status: 'fallback', error: why };
        if (code === -100 || Number.isNaN(code)) return { status: 'retry', error: why };
        return { status: 'permanent', error: why };
      }
      return { status: 'retry', error: 'zalo: unreachable' };
    },
  };
}
