import { useEffect, useState } from 'react';
import type { PublicSummary } from '../../../../protocol/src/public';

const REFRESH_MS = 60_000;

/** GET /api/public/summary (no sign-in; the server caches it), refreshed every minute; the last good answer stays on a failure. */
export function usePublicSummary(ward: string | undefined): { summary: PublicSummary | null; failed: boolean } {
  const [summary, setSummary] = useState<PublicSummary | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let stopped = false;
    const url = `/api/public/summary${ward ? `?ward=${encodeURIComponent(ward)}` : ''}`;
    const load = () =>
      fetch(url, { credentials: 'omit' })
        .then((res) => (res.ok ? (res.json() as Promise<PublicSummary>) : Promise.reject(new Error(String(res.status)))))
        .then(
          (s) => {
            if (stopped) return;
            setSummary(s);
            setFailed(false);
          },
          () => !stopped && setFailed(true),
        );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [ward]);
  return { summary, failed };
}
