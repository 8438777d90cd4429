import { createHash } from 'node:crypto';
import { kioskBodySchema, loginBodySchema, noAnswer, passwordAnswerSchema, passwordBodySchema, sessionAnswerSchema } from '@tamky/protocol';
import type { Core } from '../core';
import { clearedSessionCookie, sessionCookie } from '../http/cookies';
import { HttpError, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { sessionOf } from './guard';
import { createUserAdmin } from '../admin/users';
import type { User } from './accounts';
import { beginSignIn } from './rate-limit';

export function authRoutes(core: Core): RouteSpec[] {
  const ttlMs = core.config.session.ttlHours * 3_600_000;
  const users = createUserAdmin(core.db, core.now);
  const secure = core.config.session.secureCookies;

  const open = (res: Parameters<RouteSpec['handler']>[1], user: User, kiosk: boolean) => {
    const { id, session } = core.sessions.create(user, kiosk);
    res.setHeader('Set-Cookie', sessionCookie(id, ttlMs / 1000, secure));
    return { user, csrfToken: session.csrfToken };
  };

  /** Counted before the password or token is checked; a refusal is 429 with Retry-After. */
  const begin = (res: Parameters<RouteSpec['handler']>[1], keys: { user?: string; address: string }) => {
    const attempt = beginSignIn(core.loginLimits, keys);
    if (!attempt.refused) return attempt;
    res.setHeader('Retry-After', String(Math.ceil(attempt.retryAfterMs / 1000)));
    throw new HttpError(429, 'too_many_attempts', `too many failed attempts: try again in ${Math.ceil(attempt.retryAfterMs / 60_000)} min`);
  };

  return [
    {
      method: 'post',
      path: '/auth/login',
      wards: 'none',
      access: 'none',
      summary: 'Log in with username and password; sets the httpOnly `sid` cookie (SameSite=Strict)',
      request: { body: loginBodySchema },
      answer: sessionAnswerSchema,
      async handler(req, res) {
        const { username, password } = parseInput(loginBodySchema, req.body, 'body');
        const attempt = begin(res, { address: req.ip ?? 'unknown', user: username.toLowerCase() });
        const user = await core.accounts.authenticate(username, password);
        if (!user) {
          core.audit.write(username, 'auth.login_failed', { ip: req.ip });
          throw new HttpError(401, 'bad_credentials', 'wrong username or password');
        }
        attempt.succeeded();
        core.audit.write(user.username, 'auth.login', { ip: req.ip });
        return open(res, user, false);
      },
    },
    {
      method: 'post',
      path: '/auth/kiosk',
      wards: 'none',
      access: 'none',
      summary:
        "Open a read-only viewer session for a wall screen's kiosk token; 409 `signed_in` when the browser already has a (non-kiosk) session, which stays",
      request: { body: kioskBodySchema },
      answer: sessionAnswerSchema,
      async handler(req, res) {
        const { token } = parseInput(kioskBodySchema, req.body, 'body');
        // A wall link opened in an operator's browser must not swap their session for a viewer's.
        const current = sessionOf(res);
        if (current && !current.kiosk)
          throw new HttpError(
            409,
            'signed_in',
            `already signed in as ${current.user.username}: sign out first to use this browser as a wall screen`,
          );
        const attempt = begin(res, { address: req.ip ?? 'unknown' });
        const name = await core.verifyKioskToken(token);
        if (!name) throw new HttpError(401, 'bad_credentials', 'unknown kiosk token');
        attempt.succeeded();
        core.audit.write(`kiosk:${name}`, 'auth.kiosk', { ip: req.ip });
        return open(res, { username: `kiosk:${name}`, displayName: name, role: 'viewer' }, true);
      },
    },
    {
      method: 'post',
      path: '/auth/logout',
      wards: 'none',
      access: 'any',
      summary: 'End the session',
      request: {},
      answer: noAnswer,
      handler(_req, res) {
        const id = res.locals.sessionId as string | undefined;
        if (id) {
          core.sessions.destroy(id);
          core.disconnectSession(id);
        }
        core.audit.write(sessionOf(res)!.user.username, 'auth.logout', {});
        res.setHeader('Set-Cookie', clearedSessionCookie(secure));
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/auth/password',
      wards: 'none',
      access: 'any',
      summary:
        'Change your own password ({currentPassword, newPassword}; same policy as admin-created accounts) → {sessionsEnded}; your other sessions end, this one stays; not for kiosk sessions',
      request: { body: passwordBodySchema },
      answer: passwordAnswerSchema,
      async handler(req, res) {
        const s = sessionOf(res)!;
        if (s.kiosk) throw new HttpError(403, 'kiosk', 'a wall screen has no password to change');
        const body = parseInput(passwordBodySchema, req.body, 'body');
        if (body.newPassword === body.currentPassword)
          throw new HttpError(400, 'weak_password', 'the new password must differ from the current one');
        const username = s.user.username;
        // A stolen session must not become a way to guess the password: failures count like failed logins.
        const attempt = begin(res, { address: req.ip ?? 'unknown', user: username.toLowerCase() });
        if (!(await core.accounts.authenticate(username, body.currentPassword))) {
          core.audit.write(username, 'auth.password_change_failed', { ip: req.ip });
          throw new HttpError(400, 'wrong_password', 'the current password is wrong');
        }
        attempt.succeeded();
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
      wards: 'none',
      access: 'any',
      summary: 'The logged-in user and the CSRF token to send as x-csrf-token',
      request: {},
      answer: sessionAnswerSchema,
      handler(_req, res) {
        const s = sessionOf(res)!;
        return { user: s.user, csrfToken: s.csrfToken, kiosk: s.kiosk };
      },
    },
  ];
}
