import type { Client } from 'aedes';
import type { Entry } from './credentials';

/**
 * What each live session proved at CONNECT, so a credential change reaches sessions already connected: a
 * re-keyed secret disconnects the sessions that used the old one, and an expiring secret ends its sessions
 * when it expires (not only refuses the next CONNECT).
 */
interface SessionAuth {
  /** Hash of the secret the client presented; absent when a TLS client certificate identified it. */
  secretHash?: string;
  expiryTimer?: NodeJS.Timeout;
}

const sessions = new WeakMap<Client, SessionAuth>();
const MAX_TIMER_MS = 2 ** 31 - 1;

export function rememberSessionAuth(
  client: Client,
  auth: { secretHash?: string; secretExpiresAt?: Date },
  onExpired: (client: Client) => void,
): void {
  const session: SessionAuth = auth.secretHash ? { secretHash: auth.secretHash } : {};
  sessions.set(client, session);
  if (!auth.secretHash || !auth.secretExpiresAt) return;
  const at = auth.secretExpiresAt.getTime();
  const arm = () => {
    const wait = at - Date.now();
    session.expiryTimer = setTimeout(() => (at - Date.now() > 0 ? arm() : onExpired(client)), Math.min(Math.max(wait, 0), MAX_TIMER_MS));
    session.expiryTimer.unref();
  };
  arm();
}

export function forgetSessionAuth(client: Client): void {
  const session = sessions.get(client);
  if (session?.expiryTimer) clearTimeout(session.expiryTimer);
  sessions.delete(client);
}

/** True when the session authenticated with a secret that is no longer the entry's (re-keyed) or has expired since. */
export function secretNoLongerValid(client: Client, entry: Entry, now = Date.now()): boolean {
  const secretHash = sessions.get(client)?.secretHash;
  if (secretHash === undefined) return false;
  return secretHash !== entry.secretHash || (entry.secretExpiresAt !== undefined && entry.secretExpiresAt.getTime() <= now);
}
