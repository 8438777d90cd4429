import { describe, expect, it } from 'vitest';
import { aqiLevel, hourlyAqi, loadLimits, nowCast, subIndex } from '../src/index';
import { LIMITS_DIR } from './helpers/fixtures';

const table = loadLimits(LIMITS_DIR).vnAqi;
const I = [0, 50, 100, 150, 200, 300, 400, 500];
// Straight from Quyết định 1459/QĐ-TCMT (see /work/shared/domain/air-quality-vn.md), not from the YAML under test.
const BP: Record<string, number[]> = {
  o3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  o3_8h: [0, 100, 120, 170, 210, 400],
  co: [0, 10000, 30000, 45000, 60000, 90000, 120000, 150000],
  so2: [0, 125, 350, 550, 800, 1600, 2100, 2630],
  no2: [0, 100, 200, 700, 1200, 2350, 3100, 3850],
  pm10: [0, 50, 150, 250, 350, 420, 500, 600],
  pm25: [0, 25, 50, 80, 150, 250, 350, 500],
};

describe('VN_AQI sub-index at every breakpoint edge', () => {
  for (const [pollutant, bps] of Object.entries(BP)) {
    it(`${pollutant}: C = BP_i gives I_i, and just above moves up the next segment`, () => {
      bps.forEach((bp, i) => {
        expect(subIndex(table, pollutant, bp)).toBeCloseTo(I[i]!, 9);
        if (i + 1 < bps.length) {
          const above = bp + 0.1;
          const expected = ((I[i + 1]! - I[i]!) / (bps[i + 1]! - bp)) * 0.1 + I[i]!;
          expect(subIndex(table, pollutant, above)).toBeCloseTo(expected, 9);
          expect(subIndex(table, pollutant, above)!).toBeGreaterThan(I[i]!);
        }
      });
    });
  }

  it('works the decision’s formula by hand', () => {
    expect(subIndex(table, 'pm25', 37.5)).toBeCloseTo(75, 9); // (100−50)/(50−25)·(37.5−25)+50
    expect(subIndex(table, 'pm10', 100)).toBeCloseTo(75, 9);
    expect(subIndex(table, 'no2', 450)).toBeCloseTo(125, 9); // (150−100)/(700−200)·250+100
    expect(subIndex(table, 'co', 20000)).toBeCloseTo(75, 9);
  });

  it('caps above the table and refuses negative or unknown input', () => {
    expect(subIndex(table, 'pm25', 900)).toBe(500);
    expect(subIndex(table, 'pm25', -1)).toBeUndefined();
    expect(subIndex(table, 'nh3', 10)).toBeUndefined();
  });
});

describe('NowCast', () => {
  it('uses w = w* when w* > 0.5', () => {
    // w* = 32/40 = 0.8: (40 + 0.8·32 + 0.64·36) / (1 + 0.8 + 0.64)
    expect(nowCast(table, [40, 32, 36])).toBeCloseTo(88.64 / 2.44, 9);
  });

  it('clamps w to 0.5 when w* ≤ 0.5 (including exactly 0.5)', () => {
    expect(nowCast(table, [30, 20, 10])).toBeCloseTo((30 + 0.5 * 20 + 0.25 * 10) / 1.75, 9);
    expect(nowCast(table, [40, 20])).toBeCloseTo((40 + 0.5 * 20) / 1.5, 9);
  });

  it('skips missing hours but keeps the older hours’ age', () => {
    // c1 missing, c2 = 20, c3 = 30: w* = 2/3, weights w^1 and w^2 → exactly 24.
    expect(nowCast(table, [undefined, 20, 30])).toBeCloseTo(24, 9);
    // A gap in the middle of 12 hours.
    const hours = [10, 10, undefined, undefined, 10, 10, 10, 10, 10, 10, 10, 10];
    expect(nowCast(table, hours)).toBeCloseTo(10, 9);
  });

  it('gives no value unless 2 of the 3 newest hours are present', () => {
    expect(nowCast(table, [20, undefined, undefined, 20, 20, 20])).toBeUndefined();
    expect(nowCast(table, [undefined, undefined, 20, 20, 20])).toBeUndefined();
    expect(nowCast(table, [undefined, 20, undefined, 20])).toBeUndefined();
    expect(nowCast(table, [20, undefined, 20])).toBeCloseTo(20, 9);
    expect(nowCast(table, [20])).toBeUndefined();
  });

  it('only looks at 12 hours', () => {
    expect(nowCast(table, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 1000])).toBeCloseTo(10, 9);
  });

  it('is 0 for an all-zero window', () => {
    expect(nowCast(table, [0, 0, 0])).toBe(0);
  });
});

describe('hourly AQI and levels', () => {
  it('levels: upper bounds inclusive, colours from the decision', () => {
    expect(aqiLevel(table, 50)).toMatchObject({ level: 1, en: 'Good', rgb: [0, 228, 0] });
    expect(aqiLevel(table, 51)).toMatchObject({ level: 2, vi: 'Trung bình' });
    expect(aqiLevel(table, 100).level).toBe(2);
    expect(aqiLevel(table, 101)).toMatchObject({ level: 3, colour: 'orange' });
    expect(aqiLevel(table, 200).level).toBe(4);
    expect(aqiLevel(table, 201)).toMatchObject({ level: 5, rgb: [143, 63, 151] });
    expect(aqiLevel(table, 301)).toMatchObject({ level: 6, en: 'Hazardous' });
    expect(aqiLevel(table, 650).level).toBe(6);
  });

  it('is the largest sub-index, rounded', () => {
    const r = hourlyAqi(table, { pm25: [20, 20], no2: 450 })!;
    expect(r.subIndices.pm25).toBeCloseTo(40, 9);
    expect(r).toMatchObject({ aqi: 125, dominant: 'no2', level: { level: 3 } });
  });

  it('needs PM2.5 or PM10', () => {
    expect(hourlyAqi(table, { no2: 450, o3: 100 })).toBeUndefined();
    expect(hourlyAqi(table, { pm10: [100, 100], o3: 100 })).toMatchObject({ aqi: 75, dominant: 'pm10' });
  });
});
