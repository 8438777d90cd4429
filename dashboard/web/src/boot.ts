import { BOOT_DATA_ID, bootChannelsFor, bootUrlsFor, type BootData } from '@tamky/protocol/boot-data';
import { api, prefetch, prime, setCsrfToken } from './api/client';
import type { Session } from './api/types';
import { liveFeed } from './live/feed';

const ME = '/api/auth/me';

/** Starts downloading a route's code (views load on demand). */
export type ViewPreloader = (path: string) => void;

export interface Boot {
  session: Promise<Session>;
  /** The session the server inlined into the page: the app renders signed in from its first frame. */
  ready: Session | null;
}

/** The page's first answers, inlined by the server for a signed-in browser (protocol/src/boot-data.ts). */
function inlinedAnswers(): BootData['answers'] | null {
  const text = document.getElementById(BOOT_DATA_ID)?.textContent;
  if (!text) return null;
  try {
    return (JSON.parse(text) as BootData).answers;
  } catch {
    return null;
  }
}

/**
 * Everything a page load needs from the server before its first render. Usually the server inlined it into
 * index.html (session, city model, the route's first data): only the live feed's socket is opened here, before
 * React starts. Otherwise (a dev server, a kiosk link signing in) it is asked for at once instead of one after
 * another behind React's first render; without a session the early answers are refused and dropped, and the
 * login screen shows.
 */
export function startBoot(path: string, kiosk: string | null, preloadView: ViewPreloader): Boot {
  preloadView(path);
  const answers = kiosk ? null : inlinedAnswers();
  const me = answers?.[ME] as Session | undefined;
  if (answers && me) {
    for (const [url, answer] of Object.entries(answers)) if (url !== ME) prime(url, answer);
    setCsrfToken(me.csrfToken);
    liveFeed.start(bootChannelsFor(path));
    return { session: Promise.resolve(me), ready: me };
  }
  const early = () => {
    liveFeed.start(bootChannelsFor(path));
    for (const url of bootUrlsFor(path)) if (url !== ME) prefetch(url);
  };
  // A kiosk link signs in first (its answer sets the cookie everything else rides on).
  if (!kiosk) early();
  const session = kiosk
    ? // 409: this browser is already signed in (an operator opened a wall link): keep that session.
      api.kiosk(kiosk).catch((err: { status?: number }) => (err.status === 409 ? api.me() : Promise.reject(err)))
    : api.me();
  return {
    ready: null,
    session: session.then(
      (s) => {
        if (kiosk) early();
        return s;
      },
      (err: unknown) => {
        liveFeed.stop();
        throw err;
      },
    ),
  };
}
