import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import type { Role } from '../config';
import { readCookie, SESSION_COOKIE } from '../http/cookies';
import { sendError } from '../http/errors';
import type { Session, Sessions } from './sessions';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, technician: 2, admin: 3 };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function roleAtLeast(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export function sessionOf(res: Response): Session | undefined {
  return res.locals.session as Session | undefined;
}

/** The username to audit under; routes behind a guard always have a session. */
export function actorOf(res: Response): string {
  return sessionOf(res)?.user.username ?? 'anonymous';
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createGuard(sessions: Sessions) {
  const sessionFromRequest = (req: IncomingMessage): { id: string; session: Session } | null => {
    const id = readCookie(req, SESSION_COOKIE);
    if (!id) return null;
    const session = sessions.get(id);
    return session ? { id, session } : null;
  };

  /** Loads the session (if any) for every /api request. */
  const loadSession: RequestHandler = (req, res, next) => {
    const found = sessionFromRequest(req);
    if (found) {
      res.locals.session = found.session;
      res.locals.sessionId = found.id;
    }
    next();
  };

  const check = (req: Request, res: Response, role: Role | 'any'): boolean => {
    const session = sessionOf(res);
    if (!session) {
      sendError(res, 401, 'unauthenticated', 'log in first');
      return false;
    }
    if (role !== 'any' && !roleAtLeast(session.user.role, role)) {
      sendError(res, 403, 'forbidden', `needs role ${role}`);
      return false;
    }
    if (!SAFE_METHODS.has(req.method)) {
      const header = req.get('x-csrf-token');
      if (!header || !sameToken(header, session.csrfToken)) {
        sendError(res, 403, 'csrf', 'missing or wrong x-csrf-token header');
        return false;
      }
    }
    return true;
  };

  /** Session required, role at least `role`, CSRF header on every non-GET. */
  const requireRole =
    (role: Role | 'any'): RequestHandler =>
    (req, res, next) => {
      if (check(req, res, role)) next();
    };

  return { loadSession, requireRole, sessionFromRequest };
}
export type Guard = ReturnType<typeof createGuard>;
