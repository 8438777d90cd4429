import { useCallback, useEffect, useRef, useState } from 'react';
import { api, peekPrimed, takePrimed, type Query } from './client';

export interface ApiState<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload(): void;
  set(updater: (prev: T | null) => T | null): void;
}

/** GET a resource and keep it in state; refetches when path or query change, or on reload(). */
export function useApi<T>(path: string | null, query?: Query): ApiState<T> {
  // An answer inlined into the page is the first render's data: no request, no loading frame.
  const [inlined] = useState(() => (path === null ? undefined : peekPrimed<T>(path, query)));
  const [data, setData] = useState<T | null>(inlined ?? null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(path !== null && inlined === undefined);
  const [generation, setGeneration] = useState(0);
  const queryKey = JSON.stringify(query ?? {});
  const fresh = useRef(inlined !== undefined);
  useEffect(() => {
    if (path === null) return;
    if (fresh.current) {
      // On screen: the inlined answer is used up (a reload asks the server).
      fresh.current = false;
      takePrimed(path, JSON.parse(queryKey) as Query);
      return;
    }
    let cancelled = false;
    setLoading(true);
    api
      .get<T>(path, JSON.parse(queryKey) as Query)
      .then((d) => {
        if (cancelled) return;
        setData(d);
        setError(null);
      })
      .catch((err: Error) => !cancelled && setError(err.message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [path, queryKey, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload, set: setData };
}
