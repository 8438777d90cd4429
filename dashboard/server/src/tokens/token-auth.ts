import type { IncomingMessage } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { sendError } from '../http/errors';
import { createFailureLimiter } from '../auth/rate-limit';
import { createRateLimiter } from '../notify/rate-limit';
import type { AuditLog } from '../audit';
import type { ApiToken, TokenScope, TokenStore } from './token-store';

/**
 * The token text of a request, from any of the places other systems put it: `Authorization: Bearer …`
 * (curl, NGSI-LD clients), `Authorization: Token …` (InfluxDB 2 style), HTTP Basic with the token as the
 * password, or InfluxDB 1.x's `p` query parameter (Grafana's InfluxDB data source sends either of the last two).
 */
export function tokenTextOf(req: IncomingMessage & { query?: unknown }): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const [scheme, value] = header.split(/\s+/, 2);
    if (!value) return undefined;
    if (/^(bearer|token)$/i.test(scheme!)) return value;
    if (/^basic$/i.test(scheme!)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 ? decoded.slice(colon + 1) : undefined;
    }
    return undefined;
  }
  const q = req.query as Record<string, unknown> | undefined;
  return typeof q?.p === 'string' && q.p ? q.p : undefined;
}

export function tokenOf(res: Response): ApiToken | undefined {
  return res.locals.apiToken as ApiToken | undefined;
}

const AUDIT_USE_EVERY_MS = 3_600_000;

export function createTokenAuth(opts: { tokens: TokenStore; audit: AuditLog; now: () => number; maxFailuresPerAddress?: number }) {
  const { tokens, audit, now } = opts;
  const perMinute: Record<string, { perMinute: number }> = {};
  const requests = createRateLimiter(perMinute, now);
  const failures = createFailureLimiter(opts.maxFailuresPerAddress ?? 20, 600_000, now);
  const lastAuditedUse = new Map<string, number>();

  /** Checks a token for `scope`; sends the error answer and returns undefined when it does not pass. */
  function check(text: string, scope: TokenScope, address: string, res: Response): ApiToken | undefined {
    const blocked = failures.blockedFor(address);
    if (blocked) {
      res.setHeader('Retry-After', String(Math.ceil(blocked / 1000)));
      sendError(res, 429, 'rate_limited', 'too many invalid tokens from this address');
      return undefined;
    }
    const result = tokens.verify(text);
    if (!result.ok) {
      failures.begin(address); // counts this failure (verification is synchronous: no race to close here)
      audit.write('anonymous', 'token.denied', { reason: result.reason, address });
      sendError(
        res,
        401,
        'unauthenticated',
        result.reason === 'malformed' || result.reason === 'unknown' ? 'invalid API token' : `API token ${result.reason}`,
      );
      return undefined;
    }
    const token = result.token;
    if (!token.scopes.includes(scope)) {
      audit.write(`token:${token.id}`, 'token.denied', { reason: 'scope', scope, address });
      sendError(res, 403, 'forbidden', `token lacks scope ${scope}`);
      return undefined;
    }
    perMinute[token.id] = { perMinute: token.rateLimit };
    if (!requests.take(token.id)) {
      res.setHeader('Retry-After', '60');
      sendError(res, 429, 'rate_limited', `token over its limit of ${token.rateLimit} requests per minute`);
      return undefined;
    }
    tokens.markUsed(token.id);
    const last = lastAuditedUse.get(token.id) ?? 0;
    if (now() - last >= AUDIT_USE_EVERY_MS) {
      lastAuditedUse.set(token.id, now());
      audit.write(`token:${token.id}`, 'token.use', { name: token.name, scope, address });
    }
    return token;
  }

  return {
    /**
     * A route readable with an API token of `scope`: a request carrying token credentials is judged by the
     * token alone (its wards recorded for the handler); one without goes on to `otherwise` (the session guard).
     */
    allow(scope: TokenScope, otherwise: RequestHandler): RequestHandler {
      return (req, res, next) => {
        const text = tokenTextOf(req);
        if (text === undefined) return otherwise(req, res, next);
        const token = check(text, scope, req.ip ?? 'unknown', res);
        if (!token) return;
        res.locals.apiToken = token;
        next();
      };
    },
  };
}
export type TokenAuth = ReturnType<typeof createTokenAuth>;
