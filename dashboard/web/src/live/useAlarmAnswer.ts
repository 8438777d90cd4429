import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type Query } from '../api/client';
import { useAlarmUpdates } from './useAlarmUpdates';

export interface AlarmAnswer<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  /** Asks again (after an action of this page: its answer is in the next one). */
  refresh(): void;
}

/**
 * A server answer about alarms (a count, the desk's first lines) asked again whenever live alarm changes arrive, in
 * the feed's batches. At most one request is in flight: changes that arrive meanwhile ask once more when it returns,
 * so the last answer always follows the last change. The server does the counting and grouping over every alarm;
 * the page holds only what it shows.
 */
export function useAlarmAnswer<T>(path: string | null, query: Query = {}): AlarmAnswer<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const ask = useRef<(() => void) | null>(null);
  const queryKey = JSON.stringify(query);

  useEffect(() => {
    if (path === null) return;
    let cancelled = false;
    let inFlight = false;
    let again = false;
    const q = JSON.parse(queryKey) as Query;
    const request = () => {
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      again = false;
      setLoading(true);
      api
        .get<T>(path, q)
        .then((d) => {
          if (cancelled) return;
          setData(d);
          setError(null);
        })
        .catch((err: Error) => !cancelled && setError(err.message))
        .finally(() => {
          inFlight = false;
          if (cancelled) return;
          if (again) request();
          else setLoading(false);
        });
    };
    ask.current = request;
    request();
    return () => {
      cancelled = true;
      if (ask.current === request) ask.current = null;
    };
  }, [path, queryKey]);

  const refresh = useCallback(() => ask.current?.(), []);
  useAlarmUpdates(refresh);
  return { data, error, loading, refresh };
}
