import { noiseLimitAt, type CityModel, type Device, type Limits, type StoredReading } from '@tamky/protocol';
import type { AlarmCounts } from '../module';
import { aqiLevel } from './limits';

export interface WardOverview {
  ward: string;
  aqi: { value: number; level: string; color: string; ts: number; device: string } | null;
  noise: { laeq: number; limit: number; zone: string; ts: number; device: string } | null;
  water: { level: number; alarmLevels: number[]; stage: number; ts: number; device: string } | null;
  lights: { on: number; dimmed: number; failed: number; total: number; ts: number } | null;
  traffic: { flowPerHour: number; congestion: number | null; ts: number } | null;
  alarms: AlarmCounts;
}

/** Lamp status bits (docs/register-maps.md, DALI): b0 ballast failure, b1 lamp failure. */
const LAMP_FAILURE_BITS = 0b11;
const LANE_CLASSES = ['motorbike', 'car', 'bus', 'truck'] as const;

/** The derived value's number whatever its field is called (`aqi`, `vn_aqi`, `value`, or its only field). */
function mainValue(r: StoredReading, names: string[]): number | undefined {
  for (const n of names) if (typeof r.values[n] === 'number') return r.values[n];
  const all = Object.values(r.values);
  return all.length === 1 ? all[0] : undefined;
}

/**
 * One tile per ward for the wall screen: each figure is the worst (or total) over the ward's latest
 * readings, so a single bad station is never averaged away.
 */
export function computeOverview(
  city: CityModel,
  latest: StoredReading[],
  limits: Limits,
  now: number,
  alarmCounts: (ward: string) => AlarmCounts,
): { ts: number; wards: WardOverview[] } {
  const devices = new Map<string, Device>(city.devices.map((d) => [d.id, d]));
  const byWard = new Map<string, StoredReading[]>();
  for (const r of latest) {
    const list = byWard.get(r.ward) ?? [];
    list.push(r);
    byWard.set(r.ward, list);
  }

  const wards = city.wards.map((w): WardOverview => {
    const readings = byWard.get(w.id) ?? [];
    const of = (kind: string) => readings.filter((r) => r.kind === kind);

    let aqi: WardOverview['aqi'] = null;
    for (const r of of('vn_aqi')) {
      const value = mainValue(r, ['aqi', 'vn_aqi', 'value']);
      if (value === undefined || (aqi && aqi.value >= value)) continue;
      // A derived hourly value is keyed by the start of its hour but recomputed on every new reading of its
      // station, so its freshness is that of the station's newest raw reading.
      const source = readings.find((s) => s.device === r.device && s.kind !== 'vn_aqi');
      aqi = { value: Math.round(value), ...aqiLevel(limits.vnAqi, value), ts: Math.max(r.ts, source?.ts ?? 0), device: r.device };
    }

    let noise: WardOverview['noise'] = null;
    for (const r of of('noise_meter')) {
      const laeq = r.values.laeq;
      if (laeq === undefined) continue;
      const zone = devices.get(r.device)?.zone ?? limits.noise.defaultZone;
      const { limit } = noiseLimitAt(limits.noise, zone, now, city.timeZone);
      if (noise && noise.laeq - noise.limit >= laeq - limit) continue;
      noise = { laeq, limit, zone, ts: r.ts, device: r.device };
    }

    let water: WardOverview['water'] = null;
    for (const r of of('water_level')) {
      const level = r.values.level;
      const alarmLevels = devices.get(r.device)?.alarmLevels;
      if (level === undefined || !alarmLevels) continue;
      const stage = alarmLevels.filter((l) => level >= l).length;
      if (water && (water.stage > stage || (water.stage === stage && water.level >= level))) continue;
      water = { level, alarmLevels: [...alarmLevels], stage, ts: r.ts, device: r.device };
    }

    let lights: WardOverview['lights'] = null;
    for (const r of of('street_light')) {
      const lamps = devices.get(r.device)?.lamps ?? Object.keys(r.values).filter((k) => /^lamp\d+_level$/.test(k)).length;
      if (!lamps) continue;
      lights ??= { on: 0, dimmed: 0, failed: 0, total: 0, ts: 0 };
      lights.ts = Math.max(lights.ts, r.ts);
      for (let i = 1; i <= lamps; i++) {
        lights.total++;
        const status = r.values[`lamp${i}_status`] ?? 0;
        const level = r.values[`lamp${i}_level`] ?? 0;
        if (status & LAMP_FAILURE_BITS) lights.failed++;
        else if (level >= 100) lights.on++;
        else if (level > 0) lights.dimmed++;
      }
    }

    let traffic: WardOverview['traffic'] = null;
    const congestions: number[] = [];
    for (const r of of('congestion')) {
      const c = mainValue(r, ['congestion', 'index', 'value']);
      if (c !== undefined) congestions.push(c);
    }
    const occupancies: number[] = [];
    for (const r of of('traffic_counter')) {
      const interval = r.values.interval;
      if (!interval) continue;
      let count = 0;
      for (let lane = 1; lane <= 4; lane++) {
        for (const cls of LANE_CLASSES) count += r.values[`lane${lane}_${cls}`] ?? 0;
        const occ = r.values[`lane${lane}_occupancy`];
        if (occ !== undefined) occupancies.push(occ / 100);
      }
      traffic ??= { flowPerHour: 0, congestion: null, ts: 0 };
      traffic.flowPerHour += Math.round((count * 3600) / interval);
      traffic.ts = Math.max(traffic.ts, r.ts);
    }
    if (traffic) {
      // Prefer ingest's derived congestion index; fall back to mean lane occupancy (0..1).
      const source = congestions.length ? congestions : occupancies;
      traffic.congestion = source.length ? Math.round((source.reduce((a, b) => a + b, 0) / source.length) * 100) / 100 : null;
    }

    return { ward: w.id, aqi, noise, water, lights, traffic, alarms: alarmCounts(w.id) };
  });
  return { ts: now, wards };
}
