import { randomUUID } from 'node:crypto';
import { json, listen, readBody } from './http';

export interface ZaloMessage {
  phone: string;
  templateId: string;
  templateData: Record<string, string>;
  trackingId: string;
  msgId: string;
  accessToken: string;
}

/**
 * A local Zalo OA + ZNS peer speaking the documented shapes: token refresh with single-use refresh
 * tokens (form body, secret_key header), template send answering HTTP 200 with `error` codes, −124 for an
 * invalid/expired access token, −118 for phones without Zalo, programmable failures, tracking_id dedupe.
 */
export async function startFakeZalo(opts: { appId?: string; secretKey?: string; refreshToken?: string; expiresInS?: number } = {}) {
  const appId = opts.appId ?? 'app-1';
  const secretKey = opts.secretKey ?? 'zalo-secret';
  let validRefresh = new Set([opts.refreshToken ?? 'refresh-0']);
  let validAccess = new Set<string>();
  const spentRefresh: string[] = [];
  const messages: ZaloMessage[] = [];
  const byTracking = new Map<string, string>();
  const noZalo = new Set<string>();
  const failures: number[] = [];
  const state = { refreshCalls: 0, sendCalls: 0, stall: false, refreshDelayMs: 0 };

  const http = await listen(async (req, res) => {
    const body = await readBody(req);
    if (req.url?.startsWith('/v4/oa/access_token')) {
      state.refreshCalls++;
      if (state.refreshDelayMs) await new Promise((r) => setTimeout(r, state.refreshDelayMs));
      const form = new URLSearchParams(body);
      if (req.headers.secret_key !== secretKey) return json(res, 200, { error: -14002, error_name: 'Invalid secret key' });
      if (form.get('app_id') !== appId || form.get('grant_type') !== 'refresh_token')
        return json(res, 200, { error: -14001, error_name: 'Invalid parameter' });
      const rt = form.get('refresh_token') ?? '';
      if (!validRefresh.has(rt))
        return json(res, 200, { error: -14014, error_name: 'Invalid refresh token', used: spentRefresh.includes(rt) });
      validRefresh.delete(rt);
      spentRefresh.push(rt);
      const access = `at-${randomUUID()}`;
      const refresh = `rt-${randomUUID()}`;
      validAccess = new Set([access]); // a new token replaces the old one
      validRefresh = new Set([refresh]);
      return json(res, 200, { access_token: access, refresh_token: refresh, expires_in: String(opts.expiresInS ?? 90_000) });
    }
    if (req.url?.startsWith('/message/template')) {
      state.sendCalls++;
      const token = String(req.headers.access_token ?? '');
      if (!validAccess.has(token)) return json(res, 200, { error: -124, message: 'Access token is invalid' });
      const b = JSON.parse(body) as { phone: string; template_id: string; template_data: Record<string, string>; tracking_id: string };
      const seen = byTracking.get(b.tracking_id);
      if (seen) return json(res, 200, { error: 0, message: 'Success', data: { msg_id: seen } });
      const fail = failures.shift();
      if (fail !== undefined) return json(res, 200, { error: fail, message: `forced ${fail}` });
      if (noZalo.has(b.phone)) return json(res, 200, { error: -118, message: 'Zalo account not existed' });
      const msgId = randomUUID().replace(/-/g, '');
      byTracking.set(b.tracking_id, msgId);
      messages.push({
        phone: b.phone,
        templateId: b.template_id,
        templateData: b.template_data,
        trackingId: b.tracking_id,
        msgId,
        accessToken: token,
      });
      if (state.stall) return; // accepted, but the answer never comes (the sender "crashes" meanwhile)
      return json(res, 200, { error: 0, message: 'Success', data: { msg_id: msgId, sent_time: String(Date.now()) } });
    }
    json(res, 404, { error: -106, message: 'method unsupported' });
  });

  return {
    url: http.url,
    appId,
    secretKey,
    messages,
    spentRefresh,
    state,
    /** The OA's access token is revoked/expired: the next send answers −124. */
    expireAccessTokens: () => (validAccess = new Set()),
    withoutZalo: (phone: string) => noZalo.add(phone),
    failNext: (...codes: number[]) => failures.push(...codes),
    close: http.close,
  };
}
export type FakeZalo = Awaited<ReturnType<typeof startFakeZalo>>;
