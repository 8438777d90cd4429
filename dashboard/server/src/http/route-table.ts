import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Role } from '../config';
import type { TokenAuth } from '../tokens/token-auth';
import type { TokenScope } from '../tokens/token-store';

export type Access = Role | 'any' | 'none';

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
