import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type Query } from '../api/client';
import type { Alarm } from '../api/types';
import { applyAlarmUpdates } from '../lib/alarm-updates';
import { useAlarmUpdates } from './useAlarmUpdates';

export interface AlarmList {
  alarms: Alarm[] | null;
  error: string | null;
  loading: boolean;
  /** Changes made here (an action's answer), applied like live ones. */
  apply(alarms: Alarm[]): void;
}

/**
 * `GET /api/alarms` kept current by the live feed, in batches. Changes that arrive while the list is being fetched
 * are applied to the answer too: in a storm the answer takes a while, and an alarm raised after the server wrote it
 * would otherwise be missing until its next change. `keep` says which alarms belong to the list (the query's filter).
 */
export function useAlarmList(query: Query, keep: (a: Alarm) => boolean): AlarmList {
  const [alarms, setAlarms] = useState<Alarm[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const keepRef = useRef(keep);
  keepRef.current = keep;
  /** Changes seen since the fetch in flight started (null: none in flight). */
  const duringFetch = useRef<Alarm[] | null>(null);
  const queryKey = JSON.stringify(query);

  useEffect(() => {
    let cancelled = false;
    const seen: Alarm[] = [];
    duringFetch.current = seen;
    setLoading(true);
    api
      .get<{ alarms: Alarm[] }>('/api/alarms', JSON.parse(queryKey) as Query)
      .then((d) => {
        if (cancelled) return;
        setAlarms(applyAlarmUpdates(d.alarms, seen, keepRef.current));
        setError(null);
      })
      .catch((err: Error) => !cancelled && setError(err.message))
      .finally(() => {
        if (cancelled) return;
        setLoading(false);
        if (duringFetch.current === seen) duringFetch.current = null;
      });
    return () => {
      cancelled = true;
    };
  }, [queryKey]);

  const apply = useCallback((batch: Alarm[]) => {
    duringFetch.current?.push(...batch);
    setAlarms((prev) => (prev ? applyAlarmUpdates(prev, batch, keepRef.current) : prev));
  }, []);
  useAlarmUpdates(apply);
  return { alarms, error, loading, apply };
}
