import { randomUUID } from 'node:crypto';
import { json, listen, readBody } from './http';

export interface EsmsMessage {
  phone: string;
  content: string;
  brandname: string;
  requestId: string;
  smsId: string;
  callbackUrl?: string;
}

/**
 * A local eSMS.vn peer: SendMultipleMessage_V4_post_json with its CodeResult answers (100 ok, 99, 101, 103,
 * 104, 108, 124 duplicate RequestId, 140, 146), and delivery callbacks POSTed to the CallbackUrl.
 */
export async function startFakeEsms(opts: { apiKey?: string; secretKey?: string; brandname?: string } = {}) {
  const apiKey = opts.apiKey ?? 'esms-key';
  const secretKey = opts.secretKey ?? 'esms-secret';
  const brandname = opts.brandname ?? 'TAMKY-IOC';
  const messages: EsmsMessage[] = [];
  const requestIds = new Map<string, string>();
  const blocked = new Set<string>();
  const failures: string[] = [];
  const state = { calls: 0, stall: false };

  const http = await listen(async (req, res) => {
    const body = await readBody(req);
    if (!req.url?.includes('SendMultipleMessage_V4_post_json')) return json(res, 404, { CodeResult: '-1' });
    state.calls++;
    const b = JSON.parse(body) as Record<string, string>;
    if (b.ApiKey !== apiKey || b.SecretKey !== secretKey) return json(res, 200, { CodeResult: '101', ErrorMessage: 'Authorize Failed' });
    if (b.Brandname !== brandname) return json(res, 200, { CodeResult: '104', ErrorMessage: 'Brandname not exist' });
    if (b.RequestId && requestIds.has(b.RequestId)) return json(res, 200, { CodeResult: '124', ErrorMessage: 'RequestId duplicated' });
    const fail = failures.shift();
    if (fail) return json(res, 200, { CodeResult: fail, ErrorMessage: `forced ${fail}` });
    if (blocked.has(b.Phone!)) return json(res, 200, { CodeResult: '99', ErrorMessage: 'Phone blocked' });
    if (!/^84\d{9,10}$/.test(b.Phone ?? '')) return json(res, 200, { CodeResult: '108', ErrorMessage: 'Phone invalid' });
    const smsId = randomUUID();
    if (b.RequestId) requestIds.set(b.RequestId, smsId);
    messages.push({
      phone: b.Phone!,
      content: b.Content!,
      brandname: b.Brandname!,
      requestId: b.RequestId ?? '',
      smsId,
      callbackUrl: b.CallbackUrl,
    });
    if (state.stall) return;
    json(res, 200, { CodeResult: '100', CountRegenerate: 0, SMSID: smsId });
  });

  return {
    url: `${http.url}/MainService.svc/json/SendMultipleMessage_V4_post_json/`,
    apiKey,
    secretKey,
    brandname,
    messages,
    state,
    block: (phone: string) => blocked.add(phone),
    failNext: (...codes: string[]) => failures.push(...codes),
    /** POSTs the delivery report for a message to its CallbackUrl (SendStatus 2 = delivered). */
    async deliver(m: EsmsMessage, delivered = true, reachAt?: string): Promise<number> {
      if (!m.callbackUrl) throw new Error('message had no CallbackUrl');
      // reachAt: where the callback URL's host really listens (tests use a public URL that does not resolve)
      const target = new URL(m.callbackUrl);
      if (reachAt) {
        const base = new URL(reachAt);
        target.protocol = base.protocol;
        target.host = base.host;
      }
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ SMSID: m.smsId, RequestId: m.requestId, SendStatus: delivered ? 2 : 3, Phone: m.phone }),
      });
      return res.status;
    },
    close: http.close,
  };
}
export type FakeEsms = Awaited<ReturnType<typeof startFakeEsms>>;
