import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Core } from '../core';
import { clearedSessionCookie, sessionCookie } from '../http/cookies';
import { HttpError, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { sessionOf } from './guard';
import { createUserAdmin } from '../admin/users';
import type { User } from './accounts';

const loginSchema = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
const kioskSchema = z.object({ token: z.string().min(1).max(512) });
const passwordSchema = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().max(1024) }).strict();

export function authRoutes(core: Core): RouteSpec[] {
  const ttlMs = core.config.session.ttlHours * 3_600_000;
  const users = createUserAdmin(core.db, core.now);
  const secure = core.config.session.secureCookies;

  const open = (res: Parameters<RouteSpec['handler']>[1], user: User, kiosk: boolean) => {
    const { id, session } = core.sessions.create(user, kiosk);
    res.setHeader('Set-Cookie', sessionCookie(id, ttlMs / 1000, secure));
    return { user, csrfToken: session.csrfToken };
  };

  type Keys = { user?: string; address: string };
  const limiterKeys = (keys: Keys) => [
    [core.loginLimits.address, keys.address] as const,
    ...(keys.user ? [[core.loginLimits.user, keys.user] as const] : []),
  ];
  const fail = (keys: Keys) => {
    for (const [limiter, key] of limiterKeys(keys)) limiter.fail(key);
  };
  const refuseIfLimited = (res: Parameters<RouteSpec['handler']>[1], keys: Keys) => {
    const wait = Math.max(...limiterKeys(keys).map(([limiter, key]) => limiter.blockedFor(key)));
    if (wait <= 0) return;
    res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
    throw new HttpError(429, 'too_many_attempts', `too many failed attempts: try again in ${Math.ceil(wait / 60_000)} min`);
  };

  return [
    {
      method: 'post',
      path: '/auth/login',
      access: 'none',
      summary: 'Log in with username and password; sets the httpOnly `sid` cookie (SameSite=Strict)',
      async handler(req, res) {
        const { username, password } = parseInput(loginSchema, req.body, 'body');
        const keys = { address: req.ip ?? 'unknown', user: username.toLowerCase() };
        refuseIfLimited(res, keys);
        const user = await core.accounts.authenticate(username, password);
        if (!user) {
          fail(keys);
          core.audit.write(username, 'auth.login_failed', { ip: req.ip });
          throw new HttpError(401, 'bad_credentials', 'wrong username or password');
        }
        core.loginLimits.user.reset(keys.user);
        core.audit.write(user.username, 'auth.login', { ip: req.ip });
        return open(res, user, false);
      },
    },
    {
      method: 'post',
      path: '/auth/kiosk',
      access: 'none',
      summary: "Open a read-only viewer session for a wall screen's kiosk token",
      async handler(req, res) {
        const { token } = parseInput(kioskSchema, req.body, 'body');
        const keys = { address: req.ip ?? 'unknown' };
        refuseIfLimited(res, keys);
        const name = await core.verifyKioskToken(token);
        if (!name) {
          fail(keys);
          throw new HttpError(401, 'bad_credentials', 'unknown kiosk token');
        }
        core.audit.write(`kiosk:${name}`, 'auth.kiosk', { ip: req.ip });
        return open(res, { username: `kiosk:${name}`, displayName: name, role: 'viewer' }, true);
      },
    },
    {
      method: 'post',
      path: '/auth/logout',
      access: 'any',
      summary: 'End the session',
      handler(_req, res) {
        const id = res.locals.sessionId as string | undefined;
        if (id) core.sessions.destroy(id);
        core.audit.write(sessionOf(res)!.user.username, 'auth.logout', {});
        res.setHeader('Set-Cookie', clearedSessionCookie(secure));
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/auth/password',
      access: 'any',
      summary: 'Change your own password ({currentPassword, newPassword}; same policy as admin-created accounts) → {sessionsEnded}; your other sessions end, this one stays; not for kiosk sessions',
      async handler(req, res) {
        const s = sessionOf(res)!;
        if (s.kiosk) throw new HttpError(403, 'kiosk', 'a wall screen has no password to change');
        const body = parseInput(passwordSchema, req.body, 'body');
        if (body.newPassword === body.currentPassword) throw new HttpError(400, 'weak_password', 'the new password must differ from the current one');
        const username = s.user.username;
        // A stolen session must not become a way to guess the password: failures count like failed logins.
        const keys = { address: req.ip ?? 'unknown', user: username.toLowerCase() };
        refuseIfLimited(res, keys);
        if (!(await core.accounts.authenticate(username, body.currentPassword))) {
          fail(keys);
          core.audit.write(username, 'auth.password_change_failed', { ip: req.ip });
          throw new HttpError(400, 'wrong_password', 'the current password is wrong');
        }
        const sessionId = res.locals.sessionId as string;
        const keep = createHash('sha256').update(sessionId).digest('hex');
        const { sessionsEnded } = await users.update(username, username, { password: body.newPassword }, keep);
        core.audit.write(username, 'auth.password_change', { sessionsEnded, ip: req.ip });
        core.disconnectUser(username, sessionId);
        return { sessionsEnded };
      },
    },
    {
      method: 'get',
      path: '/auth/me',
      access: 'any',
      summary: 'The logged-in user and the CSRF token to send as x-csrf-token',
      handler(_req, res) {
        const s = sessionOf(res)!;
        return { user: s.user, csrfToken: s.csrfToken, kiosk: s.kiosk };
      },
    },
  ];
}
