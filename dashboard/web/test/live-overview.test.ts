import { describe, expect, it } from 'vitest';
import type { Overview, StoredReading } from '../src/api/types';
import { fileURLToPath } from 'node:url';
import { loadLimits } from '@tamky/service-kit';
import { applyReadings } from '../src/live/useOverview';

const levels = loadLimits(fileURLToPath(new URL('../../../config/limits', import.meta.url))).vnAqi.levels;

const HOUR = 3_600_000;
const T = Date.UTC(2026, 10, 26, 5, 0, 0); // the start of an hour
const reading = (kind: string, ts: number, values: Record<string, number>): StoredReading => ({
  kind,
  device: 'an-my-air-1',
  gateway: 'gw-an-my',
  ward: 'an-my',
  ts,
  seq: kind === 'vn_aqi' ? -1 : 1,
  values,
});
const overview = (aqiTs: number): Overview =>
  ({
    ts: aqiTs,
    wards: [
      {
        ward: 'an-my',
        aqi: { value: 40, level: 'good', color: 'rgb(0, 228, 0)', ts: aqiTs },
        noise: null,
        water: null,
        lights: null,
        traffic: null,
        alarms: { critical: 0, major: 0, minor: 0, warning: 0 },
      },
    ],
  }) as unknown as Overview;

describe('live overview patches', () => {
  it('takes a rewritten hourly AQI of the same hour, with its new level and colour, keeping the tile fresh', () => {
    // The tile is 24 minutes into the hour (fresh from the station); the derived value is keyed by the hour's start.
    const next = applyReadings(overview(T + 24 * 60_000), [reading('vn_aqi', T, { aqi: 160.4 })], levels);
    // The tile names the station its value comes from, as the API's overview does.
    expect(next.wards[0]!.aqi).toEqual({ value: 160, level: 'bad', color: 'rgb(255, 0, 0)', ts: T + 24 * 60_000, device: 'an-my-air-1' });
  });

  it('ignores an AQI of an earlier hour', () => {
    const ov = overview(T + 24 * 60_000);
    expect(applyReadings(ov, [reading('vn_aqi', T - HOUR, { aqi: 99 })], levels)).toBe(ov);
  });

  it('keeps the AQI tile as fresh as its station readings', () => {
    const next = applyReadings(overview(T), [reading('air_station', T + 5 * 60_000, { pm25: 20 })], levels);
    expect(next.wards[0]!.aqi!.ts).toBe(T + 5 * 60_000);
  });
});
