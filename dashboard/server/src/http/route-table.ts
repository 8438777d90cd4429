import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Role } from '../config';
import type { TokenAuth } from '../tokens/token-auth';
import type { TokenScope } from '../tokens/token-store';
import { wardScopeOf } from '../readings/ward-scope';
import { sendError } from './errors';

export type Access = Role | 'any' | 'none';

/**
 * What a route does for a caller limited to some wards (a ward-scoped account or API token):
 * - `filter`: the handler narrows what it reads or acts on with `wardScopeOf(res)` (ward-scope.ts);
 * - `city`: city-wide data or a city-wide change, refused (403 out_of_scope) to a ward-limited caller;
 * - `none`: carries no ward data (sign-in, limits, this document), the same for everyone.
 */
export type WardRule = 'filter' | 'city' | 'none';

/**
 * Every route is declared once here-shaped: method, path, who may call it, a description, and the schemas of
 * what it reads and answers (protocol/src/api/). The same table mounts the route, generates the OpenAPI
 * document and drives the role-matrix test; the web app's types are inferred from the same schemas, so a
 * route cannot exist without an access rule, be missing from the docs or drift from what the client expects.
 */
export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path relative to /api, e.g. "/gateways/:id". */
  path: string;
  access: Access;
  /** Required: a route cannot be added without deciding what it does for a ward-limited caller. */
  wards: WardRule;
  summary: string;
  /**
   * What the route reads besides its path parameters: query parameters and the JSON body (`{}`: nothing).
   * The handler parses its input with these same schemas (`parseInput`).
   */
  request: { query?: z.ZodObject; body?: z.ZodType };
  /** Schema of the answer (`noAnswer` for 204; with `produces`, of the non-JSON text). */
  answer: z.ZodType;
  /** Answer media type when not JSON. */
  produces?: string;
  /** Also readable by other systems with an API token of this scope (then wards limit what it answers). */
  token?: TokenScope;
  handler(req: Request, res: Response): unknown;
}

/** Mounts the table behind `requireRole` (the session guard); a method and path declared twice is an error. */
export function mountRoutes(
  router: Router,
  requireRole: (access: Role | 'any') => RequestHandler,
  routes: RouteSpec[],
  tokenAuth?: TokenAuth,
): void {
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.method.toUpperCase()} ${r.path}`;
    if (seen.has(key)) throw new Error(`route ${key} is declared twice`);
    seen.add(key);
  }
  for (const r of routes) {
    const handler = async (req: Request, res: Response) => {
      if (r.wards === 'city' && wardScopeOf(res))
        return sendError(res, 403, 'out_of_scope', 'city-wide: not for an account limited to wards');
      const body = await r.handler(req, res);
      if (!res.headersSent && body !== undefined) res.json(body);
    };
    if (r.access === 'none') router[r.method](r.path, handler);
    else if (r.token && tokenAuth) router[r.method](r.path, tokenAuth.allow(r.token, requireRole(r.access)), handler);
    else router[r.method](r.path, requireRole(r.access), handler);
  }
}

/** "/gateways/:id" → "/api/gateways/{id}" */
export const openApiPath = (path: string) => `/api${path.replace(/:([A-Za-z_]+)/g, '{$1}')}`;
