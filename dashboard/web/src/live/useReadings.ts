import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';
import type { StoredReading } from '../api/types';
import { liveFeed } from './feed';
import { useLive } from './useLive';

export interface LatestReadings {
  /** Latest reading per `${kind}/${device}`. */
  byKey: Map<string, StoredReading>;
  /** Client-clock time of the newest data per kind (WS arrival, or reading ts corrected by the server clock). */
  lastDataAt: Map<string, number>;
  /** The same per `${kind}/${ward}`: a wall tile says when its own ward's data stopped. */
  wardLastDataAt: Map<string, number>;
  loading: boolean;
  error: string | null;
}

export const readingKey = (r: Pick<StoredReading, 'kind' | 'device'>) => `${r.kind}/${r.device}`;

/**
 * Latest readings of some kinds: one REST snapshot (/api/latest), then kept current from the WS
 * `readings` and `derived` channels. Older readings never overwrite newer ones (replays after reconnect).
 */
export function useLatestReadings(kinds: string[]): LatestReadings {
  const [state, setState] = useState<LatestReadings>({
    byKey: new Map(),
    lastDataAt: new Map(),
    wardLastDataAt: new Map(),
    loading: true,
    error: null,
  });
  const key = kinds.join(',');

  const merge = useCallback(
    (readings: StoredReading[], arrivedAt: number | null) => {
      const wanted = new Set(key.split(','));
      setState((prev) => {
        let byKey: Map<string, StoredReading> | null = null;
        let lastDataAt: Map<string, number> | null = null;
        let wardLastDataAt: Map<string, number> | null = null;
        for (const r of readings) {
          if (!wanted.has(r.kind)) continue;
          const k = readingKey(r);
          const old = (byKey ?? prev.byKey).get(k);
          if (old && old.ts > r.ts) continue;
          byKey ??= new Map(prev.byKey);
          lastDataAt ??= new Map(prev.lastDataAt);
          wardLastDataAt ??= new Map(prev.wardLastDataAt);
          byKey.set(k, r);
          const seenAt = arrivedAt ?? r.ts - liveFeed.state.clockOffsetMs;
          if ((lastDataAt.get(r.kind) ?? 0) < seenAt) lastDataAt.set(r.kind, seenAt);
          const wardKey = `${r.kind}/${r.ward}`;
          if ((wardLastDataAt.get(wardKey) ?? 0) < seenAt) wardLastDataAt.set(wardKey, seenAt);
        }
        return byKey ? { ...prev, byKey, lastDataAt: lastDataAt!, wardLastDataAt: wardLastDataAt! } : prev;
      });
    },
    [key],
  );

  useEffect(() => {
    let cancelled = false;
    setState((s) => ({ ...s, loading: true }));
    Promise.all(key.split(',').map((kind) => api.get<{ readings: StoredReading[] }>('/api/latest', { kind })))
      .then((answers) => {
        if (cancelled) return;
        merge(
          answers.flatMap((a) => a.readings),
          null,
        );
        setState((s) => ({ ...s, loading: false, error: null }));
      })
      .catch((err: Error) => !cancelled && setState((s) => ({ ...s, loading: false, error: err.message })));
    return () => {
      cancelled = true;
    };
  }, [key, merge]);

  useLive(['readings', 'derived'], (msg) => {
    if (msg.type === 'readings' || msg.type === 'derived') merge(msg.readings, Date.now());
  });

  return state;
}
