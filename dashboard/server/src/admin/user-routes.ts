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
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { createUserAdmin } from './users';

/** Account administration: admins only, every change audited (passwords never are). */
export function userRoutes(core: Core): RouteSpec[] {
  const users = createUserAdmin(core.db, core.now);
  /** Known ward ids, each once, in the city's order. */
  const checkWards = (list: string[] | undefined): string[] | undefined => {
    if (list === undefined) return undefined;
    const known = core.city.wards.map((w) => w.id);
    const unknown = list.filter((w) => !known.includes(w));
    if (unknown.length)
      throw new HttpError(400, 'unknown_ward', `no ward ${unknown.join(', ')}`, { issues: [{ path: 'wards', message: 'unknown ward' }] });
    return known.filter((w) => list.includes(w));
  };
  return [
    {
      method: 'get',
      path: '/users',
      wards: 'city',
      access: 'admin',
      summary: 'Accounts: {users: [{username, displayName, role, disabled, createdAt, wards, lastLogin}]} (never password hashes)',
      request: {},
      answer: accountsAnswerSchema,
      handler: () => ({ users: users.list() }),
    },
    {
      method: 'post',
      path: '/users',
      wards: 'city',
      access: 'admin',
      summary:
        'Create an account ({username, displayName, role, password ≥ 12 chars, wards?: ward ids it is limited to}) → 201 {user}; 409 if the username exists',
      request: { body: accountCreateBodySchema },
      answer: accountCreatedSchema,
      async handler(req, res) {
        const body = parseInput(accountCreateBodySchema, req.body, 'body');
        const user = await users.create({ ...body, wards: checkWards(body.wards) ?? [] });
        core.audit.write(actorOf(res), 'user.create', {
          username: user.username,
          role: user.role,
          displayName: user.displayName,
          ...(user.wards.length ? { wards: user.wards } : {}),
        });
        res.status(201).json({ user });
      },
    },
    {
      method: 'patch',
      path: '/users/:username',
      wards: 'city',
      access: 'admin',
      summary:
        'Change an account ({displayName?, role?, disabled?, password?, wards?}) → {user, sessionsEnded}; role, wards, disable and password end its sessions; 409 self_lockout / last_admin',
      request: { body: accountPatchBodySchema },
      answer: accountPatchedSchema,
      async handler(req, res) {
        const username = String(req.params.username);
        const parsed = parseInput(accountPatchBodySchema, req.body, 'body');
        const patch = { ...parsed, ...(parsed.wards ? { wards: checkWards(parsed.wards)! } : {}) };
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
