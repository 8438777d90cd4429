import type { CityModel, Device, StoredReading } from '@tamky/protocol';

/**
 * A month of raw readings for report tests and bench/reports: air stations and noise meters every 10 minutes,
 * street-light cabinets' energy counters every 10 minutes, water levels every minute with two floods per
 * station. Deterministic (a function of device, position and time), in time order, one hour per chunk.
 */
export const MONTH_KINDS = ['air_station', 'noise_meter', 'street_light', 'water_level'] as const;

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** UTC+7 (Asia/Ho_Chi_Minh, no DST): the generator's idea of local time, independent of the code under test. */
export const LOCAL_OFFSET = 7 * HOUR;

/** PM2.5 day levels cycling through the VN_AQI levels (µg/m³). */
const PM25_DAYS = [12, 35, 65, 110, 200, 320];

export interface MonthSpec {
  from: number;
  to: number;
  devices: Device[];
}

/** Hours of a station's day left without readings (so that day has too few hours for a 24-hour average). */
export const airGap = (stationIndex: number, localDay: number, localHour: number) =>
  stationIndex === 0 && localDay % 7 === 3 && localHour < 12;

export function pm25At(stationIndex: number, localDay: number, localHour: number, minute: number): number {
  const base = PM25_DAYS[(localDay + stationIndex) % PM25_DAYS.length]!;
  return Math.round(base * (1 + 0.25 * Math.sin((localHour + minute / 60) / 3)) * 10) / 10;
}

export function laeqAt(meterIndex: number, localHour: number, minute: number): number {
  const night = localHour < 6 || localHour >= 21;
  const base = night ? 48 + meterIndex * 3 : 62 + meterIndex * 4;
  return Math.round((base + 6 * Math.sin(localHour / 2 + meterIndex) + 3 * Math.cos(minute / 7)) * 10) / 10;
}

/** Water level: 1 m, with a flood on the 10th of each month (peak 2.6 m) and on the 20th (peak 3.4 m + station index × 0.3), local noon + index hours. */
export function levelAt(stationIndex: number, t: number): number {
  const local = new Date(t + LOCAL_OFFSET);
  const peak = local.getUTCDate() === 10 ? 2.6 : local.getUTCDate() === 20 ? 3.4 + stationIndex * 0.3 : undefined;
  if (peak === undefined) return 1;
  const centre = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), 12 + stationIndex) - LOCAL_OFFSET;
  const dt = Math.abs(t - centre) / MIN;
  return dt < 120 ? Math.round(Math.max(1, peak - ((peak - 1) * dt) / 120) * 1000) / 1000 : 1;
}

/** A street-light cabinet's counter: +0.125 kWh per 10 minutes at night (18:00–06:00 local). */
const LIGHT_STEP = 0.125;

export function* monthReadings(spec: MonthSpec): Generator<StoredReading[]> {
  const seq = new Map<string, number>();
  const next = (gw: string) => {
    const n = (seq.get(gw) ?? 0) + 1;
    seq.set(gw, n);
    return n;
  };
  const index = new Map<string, number>();
  const counters = new Map<string, number>();
  for (const kind of MONTH_KINDS) spec.devices.filter((d) => d.kind === kind).forEach((d, i) => index.set(d.id, i));
  for (let hour = spec.from; hour < spec.to; hour += HOUR) {
    const chunk: StoredReading[] = [];
    const local = new Date(hour + LOCAL_OFFSET);
    const localHour = local.getUTCHours();
    const localDay = Math.floor((hour + LOCAL_OFFSET) / DAY) - Math.floor((spec.from + LOCAL_OFFSET) / DAY);
    for (const d of spec.devices) {
      const i = index.get(d.id);
      if (i === undefined) continue;
      const base = { kind: d.kind, device: d.id, gateway: d.gateway, ward: d.ward };
      if (d.kind === 'water_level') {
        for (let m = 0; m < 60; m++) {
          const ts = hour + m * MIN + 20_000;
          chunk.push({ ...base, ts, seq: next(d.gateway), values: { level: levelAt(i, ts) } });
        }
        continue;
      }
      for (let m = 5; m < 60; m += 10) {
        const ts = hour + m * MIN;
        if (d.kind === 'air_station') {
          if (airGap(i, localDay, localHour)) continue;
          const pm25 = pm25At(i, localDay, localHour, m);
          chunk.push({
            ...base,
            ts,
            seq: next(d.gateway),
            values: { pm25, pm10: Math.round(pm25 * 15) / 10, o3: 40, no2: 30, so2: 20, co: 800, temperature: 28, humidity: 80 },
          });
        } else if (d.kind === 'noise_meter') {
          chunk.push({ ...base, ts, seq: next(d.gateway), values: { laeq: laeqAt(i, localHour, m) } });
        } else {
          const night = localHour < 6 || localHour >= 18;
          const energy = (counters.get(d.id) ?? 1000 + i * 100) + (night ? LIGHT_STEP : 0);
          counters.set(d.id, energy);
          chunk.push({ ...base, ts, seq: next(d.gateway), values: { energy, power: night ? 750 : 0 } });
        }
      }
    }
    yield chunk;
  }
}

/** The city cut down to `wards` and the devices of the month's kinds in them. */
export function monthCity(city: CityModel, wards: string[]): CityModel {
  return {
    ...city,
    wards: city.wards.filter((w) => wards.includes(w.id)),
    gateways: city.gateways.filter((g) => wards.includes(g.ward)),
    devices: city.devices.filter((d) => wards.includes(d.ward) && (MONTH_KINDS as readonly string[]).includes(d.kind)),
  };
}
