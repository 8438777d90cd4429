import { api, prefetch, type Query } from './api/client';
import type { Session } from './api/types';
import { liveFeed } from './live/feed';

/** What a route shows first, asked for while the route's code still loads. */
const ROUTE_DATA: Record<string, Array<[path: string, query?: Query]>> = {
  '/': [['/api/overview'], ['/api/limits']],
};

/** Starts downloading a route's code (views load on demand). */
export type ViewPreloader = (path: string) => void;

/**
 * Everything a page load needs from the server, asked for at once when the code arrives instead of one
 * after another behind React's first render: the session check, the city model, the route's first data and
 * the live feed's socket (authenticated by the same cookie). Without a session the early answers are refused
 * and dropped; the login screen shows.
 */
export function startBoot(path: string, kiosk: string | null, preloadView: ViewPreloader): Promise<Session> {
  preloadView(path);
  const early = () => {
    liveFeed.start();
    prefetch('/api/city');
    for (const [p, q] of ROUTE_DATA[path] ?? []) prefetch(p, q);
  };
  // A kiosk link signs in first (its answer sets the cookie everything else rides on).
  if (!kiosk) early();
  const session = kiosk
    ? // 409: this browser is already signed in (an operator opened a wall link): keep that session.
      api.kiosk(kiosk).catch((err: { status?: number }) => (err.status === 409 ? api.me() : Promise.reject(err)))
    : api.me();
  return session.then(
    (s) => {
      if (kiosk) early();
      return s;
    },
    (err: unknown) => {
      liveFeed.stop();
      throw err;
    },
  );
}
