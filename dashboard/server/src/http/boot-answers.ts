import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { bootUrlsFor, type BootData } from '@tamky/protocol';
import { roleAtLeast } from '../auth/guard';
import type { Session } from '../auth/sessions';
import { wardScopeOf } from '../readings/ward-scope';
import type { RouteSpec } from './route-table';

export type BootAnswers = (req: Request) => Promise<BootData | null>;

/**
 * The first answers of a page (protocol bootUrlsFor) for the browser's session, computed by the same route
 * handlers with the same access and ward rules as the API, to be inlined into index.html. Only argument-free
 * GETs whose handlers read nothing but the caller (res.locals) qualify; without a session: null (the login screen
 * needs nothing).
 */
export function createBootAnswers(
  routes: readonly RouteSpec[],
  sessionFromRequest: (req: IncomingMessage) => { id: string; session: Session } | null,
): BootAnswers {
  const byUrl = new Map(routes.filter((r) => r.method === 'get' && !r.path.includes(':')).map((r) => [`/api${r.path}`, r]));
  return async (req) => {
    const found = sessionFromRequest(req);
    if (!found) return null;
    const { session } = found;
    // Only what the handler reads of the response: the caller, as the session guard leaves it.
    const res = { locals: { session, sessionId: found.id } } as unknown as Response;
    const answers: Record<string, unknown> = {};
    for (const url of bootUrlsFor(req.path)) {
      const route = byUrl.get(url);
      if (!route || route.access === 'none') continue;
      if (route.access !== 'any' && !roleAtLeast(session.user.role, route.access)) continue;
      if (route.wards === 'city' && wardScopeOf(res)) continue;
      try {
        answers[url] = await route.handler(req, res);
      } catch {
        // Left out: the page asks for it itself and shows that request's error.
      }
    }
    return { answers };
  };
}
