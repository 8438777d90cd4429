import type { IncomingMessage } from 'node:http';
import type { Guard } from '../auth/guard';
import { beginSignIn, type SignInLimits } from '../auth/rate-limit';
import type { Refusal, SocketUser } from './hub';

/**
 * Who opens a live-feed WebSocket: the session cookie first (a signed-in operator's page keeps its own
 * session even when opened through a ?kiosk= link), else a wall screen's kiosk token (read-only), counted
 * like POST /api/auth/kiosk before the token's scrypt check.
 */
export function wsAuthenticator(opts: {
  guard: Guard;
  verifyKioskToken: (token: string) => Promise<string | null>;
  loginLimits: SignInLimits;
  clientAddress: (req: IncomingMessage) => string;
}): (req: IncomingMessage) => Promise<SocketUser | Refusal | null> {
  return async (req) => {
    const found = opts.guard.sessionFromRequest(req);
    if (found) return { ...found.session.user, sessionId: found.id, expiresAt: found.session.expiresAt };
    const kiosk = new URL(req.url ?? '/', 'http://localhost').searchParams.get('kiosk');
    if (!kiosk) return null;
    const attempt = beginSignIn(opts.loginLimits, { address: opts.clientAddress(req) });
    if (attempt.refused) return { refused: 429, retryAfterMs: attempt.retryAfterMs };
    const name = await opts.verifyKioskToken(kiosk);
    if (!name) return null;
    attempt.succeeded();
    return { username: `kiosk:${name}`, displayName: name, role: 'viewer' };
  };
}
