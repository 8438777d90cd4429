import { tokenCreateBodySchema, tokenCreatedSchema, tokenRevokedSchema, tokensAnswerSchema } from '@tamky/protocol';
import type { Core } from '../core';
import { actorOf } from '../auth/guard';
import { HttpError, notFound, parseInput } from '../http/errors';
import type { RouteSpec } from '../http/route-table';
import type { TokenStore } from './token-store';

const DAY = 86_400_000;

/** Admins create and revoke API tokens for other systems (Grafana, the provincial IOC, researchers). */
export function tokenRoutes(core: Core, tokens: TokenStore): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/tokens',
      wards: 'city',
      access: 'admin',
      summary: 'API tokens (never their secrets)',
      request: {},
      answer: tokensAnswerSchema,
      handler: () => ({ tokens: tokens.list() }),
    },
    {
      method: 'post',
      path: '/tokens',
      wards: 'city',
      access: 'admin',
      summary: 'Create an API token: scopes, wards, expiry, rate limit; the token text is answered once',
      request: { body: tokenCreateBodySchema },
      answer: tokenCreatedSchema,
      handler(req, res) {
        const input = parseInput(tokenCreateBodySchema, req.body, 'body');
        const known = new Set(core.city.wards.map((w) => w.id));
        const unknown = input.wards.filter((w) => !known.has(w));
        if (unknown.length) throw new HttpError(400, 'bad_request', `unknown wards: ${unknown.join(', ')}`);
        const created = tokens.create({
          name: input.name,
          scopes: input.scopes,
          wards: [...new Set(input.wards)],
          expiresAt: core.now() + input.expiresInDays * DAY,
          rateLimit: input.rateLimitPerMinute,
          createdBy: actorOf(res),
        });
        core.audit.write(actorOf(res), 'token.create', {
          id: created.token.id,
          name: created.token.name,
          scopes: created.token.scopes,
          wards: created.token.wards,
          expiresAt: created.token.expiresAt,
        });
        res.status(201);
        return { token: created.token, text: created.text };
      },
    },
    {
      method: 'delete',
      path: '/tokens/:id',
      wards: 'city',
      access: 'admin',
      summary: 'Revoke an API token (effective at once)',
      request: {},
      answer: tokenRevokedSchema,
      handler(req, res) {
        const id = String(req.params.id);
        const token = tokens.get(id);
        if (!token) throw notFound('token');
        const revoked = tokens.revoke(id);
        if (revoked) core.audit.write(actorOf(res), 'token.revoke', { id, name: token.name });
        return { token: tokens.get(id) };
      },
    },
  ];
}
