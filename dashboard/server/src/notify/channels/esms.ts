import { foldVietnamese } from '../text';
import type { Channel, SendOutcome } from './types';
import { postJson, shortKey } from './types';

export interface EsmsConfig {
  url: string;
  apiKey: string;
  secretKey: string;
  brandname: string;
  smsType: string;
  sandbox: boolean;
  unicode: boolean;
  timeoutMs: number;
  callbackUrl?: string;
}

/** eSMS codes (alert-channels.md): 100 accepted, 124 duplicate RequestId = already accepted earlier. */
const PERMANENT: Record<string, string> = {
  '99': 'number blocked',
  '101': 'wrong ApiKey/SecretKey',
  '104': 'brandname not registered',
  '108': 'invalid phone number',
  '140': 'server IP not whitelisted',
  '146': 'content does not match the registered template',
};

/** Brandname SMS over eSMS's HTTP API; RequestId makes a resend after a crash a no-op at the provider. */
export function createEsmsChannel(cfg: EsmsConfig): Channel {
  return {
    async send(m): Promise<SendOutcome> {
      const requestId = shortKey(m.idempotencyKey);
      const res = await postJson(
        cfg.url,
        {
          ApiKey: cfg.apiKey,
          SecretKey: cfg.secretKey,
          Phone: m.to,
          Content: cfg.unicode ? m.text : foldVietnamese(m.text),
          Brandname: cfg.brandname,
          SmsType: cfg.smsType,
          IsUnicode: cfg.unicode ? '1' : '0',
          ...(cfg.sandbox ? { Sandbox: '1' } : {}),
          RequestId: requestId,
          ...(cfg.callbackUrl ? { CallbackUrl: cfg.callbackUrl } : {}),
        },
        { timeoutMs: cfg.timeoutMs },
      );
      if ('error' in res) return { status: 'retry', error: `esms: ${res.error}` };
      if (res.status >= 500) return { status: 'retry', error: `esms HTTP ${res.status}` };
      const body = res.json as { CodeResult?: string | number; SMSID?: string; ErrorMessage?: string } | undefined;
      const code = String(body?.CodeResult ?? '');
      if (code === '100') return { status: 'accepted', providerId: String(body?.SMSID ?? requestId) };
      if (code === '124') return { status: 'accepted', providerId: body?.SMSID ? String(body.SMSID) : requestId };
      if (code === '103') return { status: 'retry', error: 'esms 103: insufficient balance', delayMs: 10 * 60_000 };
      const reason = PERMANENT[code];
      if (reason) return { status: 'permanent', error: `esms ${code}: ${reason}` };
      return { status: 'retry', error: `esms ${code || `HTTP ${res.status}`}: ${body?.ErrorMessage ?? 'unexpected answer'}` };
    },
  };
}
