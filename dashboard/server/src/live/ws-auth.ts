import type { IncomingMessage } from 'node:http';
import type { Guard } from '../auth/guard';
import type { SocketUser } from './hub';

/** Who opens a live-feed WebSocket: a wall screen by its kiosk token (`?kiosk=`, read-only), else the session cookie. */
export function wsAuthenticator(guard: Guard, verifyKioskToken: (token: string) => Promise<string | null>): (req: IncomingMessage) => Promise<SocketUser | null> {
  return async (req) => {
    const kiosk = new URL(req.url ?? '/', 'http://localhost').searchParams.get('kiosk');
    if (kiosk) {
      const name = await verifyKioskToken(kiosk);
      return name ? { username: `kiosk:${name}`, displayName: name, role: 'viewer' } : null;
    }
    const found = guard.sessionFromRequest(req);
    return found ? { ...found.session.user, sessionId: found.id } : null;
  };
}
