import { createHash } from 'node:crypto';

export interface OutgoingMessage {
  /** Phone (84…), e-mail address or URL, per channel. */
  to: string;
  subject: string;
  text: string;
  /** Stable across retries and restarts of the same message: providers deduplicate on it. */
  idempotencyKey: string;
  alarmIds: number[];
  /** Zalo ZNS template parameters. */
  templateData: Record<string, string>;
}

export type SendOutcome =
  | { status: 'accepted'; providerId: string }
  | { status: 'retry'; error: string; delayMs?: number }
  | { status: 'fallback'; error: string }
  | { status: 'permanent'; error: string };

export interface Channel {
  send(message: OutgoingMessage): Promise<SendOutcome>;
  close?(): Promise<void>;
}

/** A short, provider-safe form of an idempotency key (providers cap the length of RequestId / tracking_id). */
export const shortKey = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

/** fetch with a deadline; network failures and timeouts become `undefined` + the reason. */
export async function postJson(
  url: string,
  body: unknown,
  opts: { headers?: Record<string, string>; timeoutMs: number; form?: boolean },
): Promise<{ status: number; json: unknown } | { error: string; timeout: boolean }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': opts.form ? 'application/x-www-form-urlencoded' : 'application/json', ...opts.headers },
      body: opts.form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  } catch (err) {
    const e = err as Error;
    return { error: e.message, timeout: e.name === 'TimeoutError' || e.name === 'AbortError' };
  }
}
