import { createHash } from 'node:crypto';
import {
  accountCreateBodySchema,
  accountCreatedSchema,
  accountPatchBodySchema,
  accountPatchedSchema,
  accountsAnswerSchema,
} from '@tamky/protocol';
import type { Core } from '../core';
import { actorOf } from '../auth/guard';
import { notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { createUserAdmin } from './users';

/** Account administration: admins only, every change audited (passwords never are). */
export function userRoutes(core: Core): RouteSpec[] {
  const users = createUserAdmin(core.db, core.now);
  return [
    {
      method: 'get',
      path: '/users',
      access: 'admin',
      summary: 'Accounts: {users: [{username, displayName, role, disabled, createdAt, lastLogin}]} (never password hashes)',
      request: {},
      answer: accountsAnswerSchema,
      handler: () => ({ users: users.list() }),
    },
    {
      method: 'post',
      path: '/users',
      access: 'admin',
      summary: 'Create an account ({username, displayName, role, password ≥ 12 chars}) → 201 {user}; 409 if the username exists',
      request: { body: accountCreateBodySchema },
      answer: accountCreatedSchema,
      async handler(req, res) {
        const body = parseInput(accountCreateBodySchema, req.body, 'body');
        const user = await users.create(body);
        core.audit.write(actorOf(res), 'user.create', { username: user.username, role: user.role, displayName: user.displayName });
        res.status(201).json({ user });
      },
    },
    {
      method: 'patch',
      path: '/users/:username',
      access: 'admin',
      summary:
        'Change an account ({displayName?, role?, disabled?, password?}) → {user, sessionsEnded}; role, disable and password end its sessions; 409 self_lockout / last_admin',
      request: { body: accountPatchBodySchema },
      answer: accountPatchedSchema,
      async handler(req, res) {
        const username = String(req.params.username);
        const patch = parseInput(accountPatchBodySchema, req.body, 'body');
        if (!users.get(username)) throw notFound(`user ${username}`);
        const actor = actorOf(res);
        const ownSession = actor === username ? (res.locals.sessionId as string | undefined) : undefined;
        const keep = ownSession ? createHash('sha256').update(ownSession).digest('hex') : undefined;
        const { user, changes, sessionsEnded } = await users.update(actor, username, patch, keep);
        if (Object.keys(changes).length) core.audit.write(actor, 'user.update', { username, changes, sessionsEnded });
        // An admin changing their own password keeps the session (and sockets) they did it from; the others close.
        if (sessionsEnded > 0) core.disconnectUser(username, ownSession);
        return { user, sessionsEnded };
      },
    },
  ];
}
