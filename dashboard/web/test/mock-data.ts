import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  cityModelSchema,
  windowClock,
  type ClockMark,
  type CityModel,
  type GatewayHealth,
  type Series,
  type StoredReading,
  type DeadLetter,
  type Severity,
} from '@tamky/protocol';
import { aqiLevelOf, limitsAnswer, rgbHex, type LimitsAnswer } from '@tamky/protocol';
import { loadLimits as loadLimitsDir } from '@tamky/service-kit';

/**
 * Realistic data for the mock dashboard server, shaped exactly as docs/api.md says, for the Tam Kỳ city
 * model in config/tam-ky/city.yaml. Values are deterministic functions of (device, time) so history,
 * latest and live pushes agree with each other.
 */
export function loadCity(): CityModel {
  const file = fileURLToPath(new URL('../../../config/tam-ky/city.yaml', import.meta.url));
  return cityModelSchema.parse(parse(readFileSync(file, 'utf8')));
}

type Device = CityModel['devices'][number];

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967295;
}
const wave = (ts: number, periodMs: number, phase: number) => Math.sin((2 * Math.PI * ts) / periodMs + phase * 2 * Math.PI);
const localHour = (ts: number) => (((ts / 3_600_000 + 7) % 24) + 24) % 24;

/** Values a device would report at time ts. */
export function valuesAt(device: Device, ts: number): Record<string, number> {
  const p = hash(device.id);
  const day = wave(ts, 86_400_000, p);
  const fast = wave(ts, 600_000, p * 3);
  const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
  switch (device.kind) {
    case 'air_station':
    case 'pm_sensor': {
      const pm25 = round(Math.max(3, 22 + 40 * p + 12 * day + 3 * fast));
      return device.kind === 'pm_sensor'
        ? { pm25, pm10: round(pm25 * 1.6) }
        : {
            pm25,
            pm10: round(pm25 * 1.6),
            no2: round(35 + 20 * day),
            so2: round(12 + 4 * fast),
            co: round(900 + 300 * day, 0),
            o3: round(60 + 30 * day),
            temperature: round(28 + 3 * day),
            humidity: round(75 - 10 * day),
          };
    }
    case 'noise_meter':
      return { laeq: round(58 + 8 * p + 6 * day + 2 * fast) };
    case 'water_level':
      return {
        level: round(0.8 + 1.5 * p + 0.3 * day, 2),
        distance: round((device.mountingHeightM ?? 6) - (0.8 + 1.5 * p + 0.3 * day), 2),
      };
    case 'street_light': {
      const h = localHour(ts);
      const night = h >= 17.75 || h < 5.75;
      const late = h >= 23 || h < 4.5;
      const level = night ? (late ? 50 : 100) : 0;
      const out: Record<string, number> = {};
      const lamps = device.lamps ?? 4;
      let power = 0;
      for (let i = 1; i <= lamps; i++) {
        const failed = i === 1 && p > 0.6;
        out[`lamp${i}_level`] = failed ? 0 : level;
        out[`lamp${i}_status`] = failed ? 0b11 : level > 0 ? 0b100 : 0;
        if (!failed) power += ((device.ratedPowerW ?? 100) * level) / 100;
      }
      out.power = round(power);
      // Cumulative meter: about half the rated load on average over a day.
      out.energy = round(
        1000 + 500 * p + (((ts - 1_700_000_000_000) / 3_600_000) * lamps * (device.ratedPowerW ?? 100) * (0.45 + 0.1 * p)) / 1000,
        2,
      );
      out.voltage = round(228 + 3 * fast);
      out.current = round(power / 228, 2);
      out.power_factor = 0.95;
      return out;
    }
    case 'traffic_counter': {
      const h = localHour(ts);
      const rush = Math.exp(-(((h - 7.25) / 0.8) ** 2)) + Math.exp(-(((h - 17.5) / 0.9) ** 2));
      const out: Record<string, number> = { interval: 60 };
      for (let lane = 1; lane <= (device.lanes ?? 2); lane++) {
        const base = 12 + 25 * rush + 4 * p;
        out[`lane${lane}_motorbike`] = Math.round(base * 2.1);
        out[`lane${lane}_car`] = Math.round(base * 0.3);
        out[`lane${lane}_bus`] = Math.round(base * 0.02);
        out[`lane${lane}_truck`] = Math.round(base * 0.06);
        out[`lane${lane}_speed`] = round(42 - 20 * rush);
        out[`lane${lane}_occupancy`] = round(10 + 55 * rush);
      }
      return out;
    }
  }
}

export function readingAt(device: Device, ts: number, seq: number): StoredReading {
  return { kind: device.kind, device: device.id, gateway: device.gateway, ward: device.ward, ts, seq, values: valuesAt(device, ts) };
}

/** Mock AQI straight from PM2.5, on the breakpoints and levels of config/limits/vn-aqi.yaml. */
export function aqiFromPm25(c: number): number {
  const { index, breakpoints } = loadLimits().aqi;
  const bp = breakpoints.pm25!;
  for (let i = 1; i < bp.length; i++) {
    if (c <= bp[i]!) return Math.round(((index[i]! - index[i - 1]!) / (bp[i]! - bp[i - 1]!)) * (c - bp[i - 1]!) + index[i - 1]!);
  }
  return index[bp.length - 1]!;
}
export function aqiLevel(v: number): { level: string; color: string } {
  const l = aqiLevelOf(loadLimits().aqi.levels, v);
  return { level: l.id, color: rgbHex(l.rgb) };
}

/**
 * Clock marks of a gateway whose clock stepped: its devices read every minute, and of the 12 readings from
 * `start` (a quarter hour) the first 6 were taken before its clock was synchronised, the next 6 were corrected
 * by the step. In 5-minute windows: 3 windows, the first two 'unsynced' (the second holds both marks), the third
 * 'corrected'.
 */
export interface MockClockStretch {
  gateway: string;
  start: number;
}
export const CLOCK_STRETCH_READINGS = 12;

/** The marked readings of one device in [from, to], as the store keeps them. */
function clockMarksOf(device: Device, stretch: MockClockStretch | undefined, from: number, to: number): Array<[number, ClockMark]> {
  if (device.gateway !== stretch?.gateway) return [];
  const marks: Array<[number, ClockMark]> = [];
  for (let k = 0; k < CLOCK_STRETCH_READINGS; k++) {
    const ts = stretch.start + k * 60_000;
    if (ts >= from && ts <= to) marks.push([ts, k < CLOCK_STRETCH_READINGS / 2 ? 'unsynced' : 'corrected']);
  }
  return marks;
}

/**
 * History as the store answers it: one series per device and field, mean per window; raw points every minute.
 * Series.clock as the stores give it: the marked readings of raw points, the windows holding marked readings.
 */
export function history(
  city: CityModel,
  q: { kind: string; fields: string[]; from: number; to: number; windowMs?: number; devices?: string[]; ward?: string },
  stretch?: MockClockStretch,
): Series[] {
  const step = q.windowMs ?? 60_000;
  const devices = city.devices.filter(
    (d) => d.kind === q.kind && (!q.devices?.length || q.devices.includes(d.id)) && (!q.ward || d.ward === q.ward),
  );
  const out: Series[] = [];
  for (const d of devices) {
    for (const field of q.fields) {
      const points: Array<[number, number]> = [];
      for (let ts = Math.ceil(q.from / step) * step; ts <= q.to && ts <= Date.now(); ts += step) {
        const v = valuesAt(d, ts)[field];
        if (v !== undefined) points.push([ts, v]);
      }
      const marks = clockMarksOf(d, stretch, q.from, q.to);
      const clock =
        q.windowMs === undefined ? marks.filter(([t]) => points.some((p) => p[0] === t)) : windowClock(marks, q.windowMs, points);
      if (points.length) out.push({ device: d.id, ward: d.ward, field, points, ...(clock.length ? { clock } : {}) });
    }
  }
  return out;
}

export interface MockAlarm {
  id: string;
  ruleId: string;
  sourceId: string;
  state: 'active' | 'acknowledged' | 'cleared';
  severity: Severity;
  category: string;
  ward: string | null;
  kind: string | null;
  device: string | null;
  gateway: string | null;
  field: string | null;
  value: number | null;
  limit: number | null;
  unit: string | null;
  message: { vi: string; en: string };
  firstSeen: number;
  lastSeen: number;
  count: number;
  assignee: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  clearedAt: number | null;
  clearedBy: string | null;
  /** As the API says them: the shelf silencing it and the alarm that explains it (a correlated child). */
  shelfId: string | null;
  parentId: string | null;
}

export function initialAlarms(city: CityModel, now: number): MockAlarm[] {
  const dev = (id: string) => city.devices.find((d) => d.id === id) ?? city.devices[0]!;
  const base = (id: string, device: Device, over: Partial<MockAlarm>): MockAlarm => ({
    id,
    ruleId: 'rule',
    sourceId: device.id,
    state: 'active',
    severity: 'major',
    category: 'threshold',
    ward: device.ward,
    kind: device.kind,
    device: device.id,
    gateway: device.gateway,
    field: null,
    value: null,
    limit: null,
    unit: null,
    message: { vi: '', en: '' },
    firstSeen: now - 40 * 60_000,
    lastSeen: now - 2 * 60_000,
    count: 3,
    assignee: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
    clearedAt: null,
    clearedBy: null,
    shelfId: null,
    parentId: null,
    ...over,
  });
  const noise = dev('an-my-noise-1');
  const water = city.devices.find((d) => d.kind === 'water_level') ?? noise;
  const light = city.devices.find((d) => d.kind === 'street_light' && d.ward === 'tan-thanh') ?? noise;
  const air = city.devices.find((d) => d.kind === 'air_station' && d.ward === 'an-phu') ?? noise;
  return [
    base('alm-1', noise, {
      ruleId: 'noise-limit',
      severity: 'major',
      field: 'laeq',
      value: 61.2,
      limit: 55,
      unit: 'dB(A)',
      message: { vi: 'Độ ồn vượt QCVN 26 tại khu đặc biệt An Mỹ', en: 'Noise above QCVN 26 in the An Mỹ special zone' },
    }),
    base('alm-2', water, {
      ruleId: 'water-level-2',
      severity: 'critical',
      field: 'level',
      value: 2.4,
      limit: 2.2,
      unit: 'm',
      message: { vi: 'Mực nước vượt báo động 2', en: 'Water level above alarm level 2' },
      count: 1,
      firstSeen: now - 12 * 60_000,
    }),
    base('alm-3', light, {
      ruleId: 'lamp-failure',
      severity: 'minor',
      category: 'lighting',
      field: 'lamp1_status',
      value: 3,
      limit: null,
      message: { vi: 'Đèn 1 hỏng bóng', en: 'Lamp 1 failed' },
      state: 'acknowledged',
      acknowledgedBy: 'operator',
      acknowledgedAt: now - 20 * 60_000,
      assignee: 'Tổ sửa chữa 2',
    }),
    base('alm-4', air, {
      ruleId: 'pm25-24h',
      severity: 'warning',
      field: 'pm25',
      value: 55,
      limit: 50,
      unit: 'µg/m³',
      message: { vi: 'PM2.5 trung bình 24 giờ vượt QCVN 05', en: '24-hour PM2.5 above QCVN 05' },
      state: 'cleared',
      clearedAt: now - 3 * 3_600_000,
      clearedBy: 'system',
      firstSeen: now - 9 * 3_600_000,
    }),
  ];
}

export function gatewayHealth(city: CityModel, gatewayId: string, now: number): GatewayHealth {
  const devices = city.devices.filter((d) => d.gateway === gatewayId);
  const p = hash(gatewayId);
  return {
    gateway: gatewayId,
    ts: now - 5000,
    uptimeS: Math.round(86_400 * (1 + 5 * p)),
    version: '0.1.0',
    configHash: `sha256-${Math.floor(p * 0xffffffff)
      .toString(16)
      .padStart(8, '0')}c0ffee`,
    cpuPct: Math.round(5 + 10 * p),
    rssBytes: 48_000_000,
    diskFreeBytes: 2_000_000_000,
    diskTotalBytes: 16e9,
    outbox: { depth: p > 0.8 ? 37 : 0, oldestTs: p > 0.8 ? now - 90_000 : null, bytes: p > 0.8 ? 12_000 : 0, dropped: 0, notDurable: 0 },
    devices: devices.map((d, i) => ({
      device: d.id,
      ok: 1000 + Math.round(5000 * hash(d.id)),
      timeouts: i === 1 ? 7 : 0,
      crcErrors: i === 1 ? 2 : 0,
      exceptions: 0,
      lastOkTs: now - 4000,
      lastError: i === 1 ? 'timeout after 1000 ms' : null,
      lastErrorTs: i === 1 ? now - 11 * 60_000 : null,
      backoffUntil: null,
      pollIntervalMs: d.pollIntervalMs,
    })),
  };
}

export function deadLetters(now: number): DeadLetter[] {
  return [
    {
      ts: now - 5 * 60_000,
      topic: 'tamky/v1/gw-an-my/telemetry',
      gateway: 'gw-an-my',
      device: 'an-my-noise-1',
      reason: 'laeq=190 dBA outside 20..140',
      raw: '{"v":1,"gateway":"gw-an-my","readings":[{"device":"an-my-noise-1","ts":1,"seq":9,"values":{"laeq":{"v":190,"u":"dBA"}}}]}',
    },
    {
      ts: now - 42 * 60_000,
      topic: 'tamky/v1/gw-an-phu/telemetry',
      gateway: 'gw-an-phu',
      device: 'an-phu-water-1',
      reason: 'unit mm where m expected for field level',
      raw: '{"v":1,"gateway":"gw-an-phu","readings":[{"device":"an-phu-water-1","ts":1,"seq":3,"values":{"level":{"v":1200,"u":"mm"}}}]}',
    },
    {
      ts: now - 3 * 3_600_000,
      topic: 'tamky/v1/gw-unknown/telemetry',
      gateway: null,
      device: null,
      reason: 'invalid JSON',
      raw: '{"v":1,"gatew',
    },
  ];
}

/** /api/limits as the server loads its data files: the repository's config/limits/*.yaml. */
let limits: LimitsAnswer | undefined;
export function loadLimits(): LimitsAnswer {
  return (limits ??= limitsAnswer(loadLimitsDir(fileURLToPath(new URL('../../../config/limits', import.meta.url)))));
}
