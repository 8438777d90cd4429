import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Core } from '../core';
import { userSeedSchema } from '../config';
import { actorOf } from '../auth/guard';
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import { createUserAdmin } from './users';

const role = z.enum(['viewer', 'operator', 'technician', 'admin']);
const displayName = z.string().trim().min(1).max(120);
// Length policy is checked by the user store (a clear "weak_password" error); the cap only bounds scrypt input.
const password = z.string().max(1024);

/** Ward ids the account is limited to; [] = the whole city. */
const wards = z.array(z.string().min(1).max(64)).max(200);
const createSchema = z.object({ username: userSeedSchema.shape.username, displayName, role, password, wards: wards.optional() }).strict();
const patchSchema = z
  .object({
    displayName: displayName.optional(),
    role: role.optional(),
    disabled: z.boolean().optional(),
    password: password.optional(),
    wards: wards.optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');

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
      handler: () => ({ users: users.list() }),
    },
    {
      method: 'post',
      path: '/users',
      wards: 'city',
      access: 'admin',
      summary:
        'Create an account ({username, displayName, role, password ≥ 12 chars, wards?: ward ids it is limited to}) → 201 {user}; 409 if the username exists',
      async handler(req, res) {
        const body = parseInput(createSchema, req.body, 'body');
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
      async handler(req, res) {
        const username = String(req.params.username);
        const parsed = parseInput(patchSchema, req.body, 'body');
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
