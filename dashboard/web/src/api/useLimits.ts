import { useEffect, useSyncExternalStore } from 'react';
import type { AqiLevelSpec } from '../../../../protocol/src/aqi-levels';
import { aqiBand, type AqiBand } from '../lib/aqi';
import type { LimitsFile } from './types';
import { api, takePrimed } from './client';

/** /api/limits, fetched once per page and shared by every component (the city's limits files change rarely). */
let current: LimitsFile | null = null;
let pending: Promise<void> | null = null;
const listeners = new Set<() => void>();

function load(): void {
  if (current || pending) return;
  pending = api
    .get<LimitsFile>('/api/limits')
    .then(
      (limits) => {
        current = limits;
        for (const l of listeners) l();
      },
      // Left null: the next component that mounts asks again.
      () => undefined,
    )
    .finally(() => {
      pending = null;
    });
}

const subscribe = (listener: () => void) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};

/** `enabled` false: nothing is fetched (a page without a session, e.g. the residents', gets its colours elsewhere). */
export function useLimits(enabled = true): LimitsFile | null {
  // The answer inlined into the page, if any, before anything is asked.
  const limits = useSyncExternalStore(subscribe, () => (current ??= (enabled && takePrimed<LimitsFile>('/api/limits')) || null));
  useEffect(() => {
    if (enabled) load();
  }, [enabled]);
  return limits;
}

/** VN_AQI levels as the server loaded them, or null until they arrived. */
export function useAqiLevels(enabled = true): readonly AqiLevelSpec[] | null {
  return useLimits(enabled)?.aqi.levels ?? null;
}

/** The band of an AQI value on the served scale (null until the limits arrived). */
export function useAqiBand(): (value: number) => AqiBand | null {
  const levels = useAqiLevels();
  return (value) => (levels ? aqiBand(levels, value) : null);
}
