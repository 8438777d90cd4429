import { useEffect, useRef } from 'react';
import type { Overview, StoredReading, WardOverview } from '../api/types';
import { useApi } from '../api/useApi';
import { useLive } from './useLive';
import type { AqiLevelSpec } from '../../../../protocol/src/aqi-levels';
import { useAqiLevels } from '../api/useLimits';
import { aqiBand, rgbCss } from '../lib/aqi';

const HOUR_MS = 3_600_000;
const startOfHour = (ts: number) => ts - (ts % HOUR_MS);

/** Derived AQI readings may name their value `aqi`, `vn_aqi` or `value`. */
export function aqiOf(r: StoredReading): number | undefined {
  return r.values.aqi ?? r.values.vn_aqi ?? r.values.value;
}

/**
 * Applies live readings to the overview so values change on screen without a refetch; AQI levels come from
 * /api/limits (until they arrived, AQI tiles wait for the next refetch).
 */
export function applyReadings(ov: Overview, readings: StoredReading[], aqiLevels: readonly AqiLevelSpec[] | null): Overview {
  let wards: WardOverview[] | null = null;
  for (const r of readings) {
    const list = wards ?? ov.wards;
    const i = list.findIndex((w) => w.ward === r.ward);
    if (i < 0) continue;
    const w = list[i]!;
    let next: WardOverview | null = null;
    if (r.kind === 'noise_meter' && r.values.laeq !== undefined && w.noise && r.ts >= w.noise.ts)
      next = { ...w, noise: { ...w.noise, laeq: r.values.laeq, ts: r.ts } };
    else if (r.kind === 'water_level' && r.values.level !== undefined && w.water && r.ts >= w.water.ts) {
      const level = r.values.level;
      const stage = w.water.alarmLevels.filter((a) => level >= a).length;
      next = { ...w, water: { ...w.water, level, stage, ts: r.ts } };
    } else if (r.kind === 'vn_aqi') {
      // Hourly values are keyed by the start of their hour and rewritten as the hour fills: a value for the
      // tile's hour or a later one replaces it, and the tile stays as fresh as its station's readings.
      const value = aqiOf(r);
      if (aqiLevels && value !== undefined && (!w.aqi || r.ts >= startOfHour(w.aqi.ts))) {
        const band = aqiBand(aqiLevels, value);
        next = {
          ...w,
          aqi: { value: Math.round(value), level: band.id, color: rgbCss(band.rgb), ts: Math.max(r.ts, w.aqi?.ts ?? 0), device: r.device },
        };
      }
    } else if ((r.kind === 'air_station' || r.kind === 'pm_sensor') && w.aqi && r.ts > w.aqi.ts) {
      next = { ...w, aqi: { ...w.aqi, ts: r.ts } };
    } else if (r.kind === 'congestion' && w.traffic && r.ts >= w.traffic.ts) {
      const c = r.values.congestion ?? r.values.value;
      if (c !== undefined)
        next = {
          ...w,
          traffic: {
            ...w.traffic,
            congestion: c,
            flowPerHour: r.values.flowPerHour ?? r.values.flow_per_hour ?? w.traffic.flowPerHour,
            ts: r.ts,
          },
        };
    }
    if (next) {
      wards ??= [...ov.wards];
      wards[i] = next;
    }
  }
  return wards ? { ...ov, wards } : ov;
}

/** /api/overview kept live: WS readings patch values in place; alarm changes and a slow timer refetch. */
export function useOverview() {
  const state = useApi<Overview>('/api/overview');
  const refetch = useRef<ReturnType<typeof setTimeout> | null>(null);
  const { reload, set } = state;
  const aqiLevels = useAqiLevels();
  useLive(['readings', 'derived', 'alarms'], (msg) => {
    if (msg.type === 'readings' || msg.type === 'derived') set((ov) => (ov ? applyReadings(ov, msg.readings, aqiLevels) : ov));
    if (msg.type === 'alarm' && !refetch.current)
      refetch.current = setTimeout(() => {
        refetch.current = null;
        reload();
      }, 1000);
  });
  useEffect(() => {
    const timer = setInterval(reload, 60_000);
    return () => {
      clearInterval(timer);
      if (refetch.current) clearTimeout(refetch.current);
    };
  }, [reload]);
  return state;
}
