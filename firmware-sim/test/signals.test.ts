import { describe, expect, it } from 'vitest';
import {
  airQuality,
  createSimDevice,
  isDark,
  laneInterval,
  scheduledLevel,
  soundLevel,
  TAM_KY,
  trafficIndex,
  waterLevel,
} from '../src/index';
import { city, device } from './helpers';

const ctx = { ...TAM_KY, seed: 42 };
/** Local time in Tam Kỳ (UTC+7) as epoch ms. */
const vn = (iso: string) => Date.parse(`${iso}+07:00`);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Weekdays of March 2025 (dry season) at the given local hour. */
function weekdaysAt(hour: number, days = 28): number[] {
  const out: number[] = [];
  for (let d = 0; d < days; d++) {
    const t = vn('2025-03-01T00:00:00') + d * DAY + hour * HOUR;
    const wd = new Date(t + 7 * HOUR).getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(t);
  }
  return out;
}

describe('traffic', () => {
  it('rush hour carries far more traffic than the night', () => {
    const rush = mean(weekdaysAt(7.25).map((t) => trafficIndex(ctx, t)));
    const evening = mean(weekdaysAt(17.5).map((t) => trafficIndex(ctx, t)));
    const night = mean(weekdaysAt(3).map((t) => trafficIndex(ctx, t)));
    expect(rush).toBeGreaterThan(5 * night);
    expect(evening).toBeGreaterThan(5 * night);
  });

  it('lane counts: rush > night, motorbikes 80–90 % of vehicles, speed falls as flow rises', () => {
    const at = (hour: number) => weekdaysAt(hour).map((t) => laneInterval(ctx, 1, 1, t, 300));
    const rush = at(7.25);
    const night = at(2.5);
    const total = (xs: typeof rush) => xs.reduce((s, x) => s + x.motorbike + x.car + x.bus + x.truck, 0);
    expect(total(rush)).toBeGreaterThan(5 * total(night));
    const bikeShare = rush.reduce((s, x) => s + x.motorbike, 0) / total(rush);
    expect(bikeShare).toBeGreaterThan(0.8);
    expect(bikeShare).toBeLessThan(0.9);
    expect(mean(rush.map((x) => x.speed))).toBeLessThan(mean(night.filter((x) => x.speed > 0).map((x) => x.speed)));
    expect(mean(rush.map((x) => x.occupancy))).toBeGreaterThan(mean(night.map((x) => x.occupancy)));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const t = vn('2025-03-04T07:30:00');
    expect(laneInterval(ctx, 9, 2, t, 60)).toEqual(laneInterval(ctx, 9, 2, t, 60));
    const a = weekdaysAt(8).map((x) => laneInterval(ctx, 9, 2, x, 60).motorbike);
    const b = weekdaysAt(8).map((x) => laneInterval({ ...ctx, seed: 43 }, 9, 2, x, 60).motorbike);
    expect(a).not.toEqual(b);
  });
});

describe('air quality', () => {
  it('PM2.5 is higher in the morning than in the afternoon, on average', () => {
    const morning = mean([6.5, 7.5, 8.5].flatMap((h) => weekdaysAt(h).map((t) => airQuality(ctx, t).pm25)));
    const afternoon = mean([13.5, 14.5, 15.5].flatMap((h) => weekdaysAt(h).map((t) => airQuality(ctx, t).pm25)));
    expect(morning).toBeGreaterThan(1.3 * afternoon);
  });

  it('O3 peaks in the early afternoon; NO2 tracks the rush hours; temperature is diurnal', () => {
    const at = (h: number) => weekdaysAt(h).map((t) => airQuality(ctx, t));
    expect(mean(at(13.5).map((a) => a.o3))).toBeGreaterThan(2 * mean(at(2).map((a) => a.o3)));
    expect(mean(at(7.5).map((a) => a.no2))).toBeGreaterThan(1.5 * mean(at(3).map((a) => a.no2)));
    expect(mean(at(14).map((a) => a.temperature))).toBeGreaterThan(mean(at(5).map((a) => a.temperature)) + 3);
    expect(mean(at(5).map((a) => a.humidity))).toBeGreaterThan(mean(at(14).map((a) => a.humidity)));
  });

  it('rain days wash PM2.5 out (rainy-season November is cleaner than dry March)', () => {
    const month = (start: string) => Array.from({ length: 28 }, (_, d) => airQuality(ctx, vn(start) + d * DAY + 8 * HOUR).pm25);
    expect(mean(month('2025-11-01T00:00:00'))).toBeLessThan(mean(month('2025-03-01T00:00:00')));
  });
});

describe('noise', () => {
  it('tracks traffic: rush hour louder than night; special zones quieter', () => {
    const rush = mean(weekdaysAt(7.5).map((t) => soundLevel(ctx, t)));
    const night = mean(weekdaysAt(2).map((t) => soundLevel(ctx, t)));
    expect(rush).toBeGreaterThan(night + 8);
    expect(rush).toBeGreaterThan(60);
    expect(rush).toBeLessThan(80);
    expect(mean(weekdaysAt(7.5).map((t) => soundLevel(ctx, t, 'special')))).toBeLessThan(rush - 5);
  });
});

describe('street lights: astronomical clock at Tam Kỳ', () => {
  it('on after sunset, off after sunrise (21 June and 21 December)', () => {
    // Tam Kỳ sunset ≈ 18:11 in June, ≈ 17:17 in December; sunrise ≈ 05:14 / 06:03.
    expect(isDark(ctx, vn('2025-06-21T18:00:00'))).toBe(false);
    expect(isDark(ctx, vn('2025-06-21T18:30:00'))).toBe(true);
    expect(isDark(ctx, vn('2025-06-21T05:00:00'))).toBe(true);
    expect(isDark(ctx, vn('2025-06-21T05:30:00'))).toBe(false);
    expect(isDark(ctx, vn('2025-12-21T17:30:00'))).toBe(true);
    expect(isDark(ctx, vn('2025-12-21T06:15:00'))).toBe(false);
  });

  it('schedule: 100 % from sunset, 50 % after 23:00 until sunrise, off by day', () => {
    expect(scheduledLevel(ctx, vn('2025-06-21T12:00:00'))).toBe(0);
    expect(scheduledLevel(ctx, vn('2025-06-21T20:00:00'))).toBe(100);
    expect(scheduledLevel(ctx, vn('2025-06-21T23:30:00'))).toBe(50);
    expect(scheduledLevel(ctx, vn('2025-06-22T03:00:00'))).toBe(50);
    expect(scheduledLevel(ctx, vn('2025-06-22T06:00:00'))).toBe(0);
  });

  it('a controller follows the clock: lamps on at 20:00, cabinet power = Σ rated × level + losses', () => {
    let t = vn('2025-06-21T12:00:00');
    const sim = createSimDevice(device('street_light', { lamps: 4, ratedPowerW: 100 }), { city, seed: 1, now: () => t });
    expect(sim.bank.getHolding(6)).toBe(0);
    const dayPower = sim.readings().power!;
    t = vn('2025-06-21T20:00:00');
    sim.update(t);
    expect(sim.bank.getHolding(0)).toBe(100); // arc level command set by the clock
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        sim.update(t + 1);
        for (let sa = 0; sa < 4; sa++) expect(sim.bank.getHolding(100 * sa + 6)).toBe(100);
        const power = sim.readings().power!;
        expect(power).toBeGreaterThan(400);
        expect(power).toBeLessThan(480);
        expect(power).toBeGreaterThan(dayPower);
        const energy0 = sim.readings().energy!;
        sim.update(t + HOUR);
        expect(sim.readings().energy! - energy0).toBeCloseTo(power / 1000, 1);
        resolve();
      }, 2300); // the DALI fade takes 2 s (wall clock)
    });
  });
});

describe('water level', () => {
  it('varies slowly around its normal level, below alarm 1', () => {
    const levels = Array.from({ length: 96 }, (_, i) => waterLevel(ctx, vn('2025-03-01T00:00:00') + i * 15 * 60_000, 1.1));
    expect(Math.max(...levels)).toBeLessThan(2);
    expect(Math.max(...levels) - Math.min(...levels)).toBeGreaterThan(0.3); // the tide is visible
  });

  it('a flood event raises it past alarm levels 1, 2 and 3 over minutes', () => {
    let t = vn('2025-03-01T10:00:00');
    const sim = createSimDevice(device('water_level'), { city, seed: 1, now: () => t });
    const level = () => 6 - sim.bank.getHolding(5) * 0.0001;
    expect(level()).toBeLessThan(2);
    sim.injectFault({ type: 'flood', riseMinutes: 10 });
    const seen: number[] = [];
    for (let m = 0; m <= 12; m += 1) {
      t += 60_000;
      sim.update(t);
      seen.push(level());
    }
    expect(seen.findIndex((l) => l > 2)).toBeLessThan(seen.findIndex((l) => l > 3));
    expect(seen.findIndex((l) => l > 3)).toBeLessThan(seen.findIndex((l) => l > 4));
    expect(seen.at(-1)!).toBeGreaterThan(4);
    sim.clearFaults();
    sim.update(t);
    expect(level()).toBeLessThan(2);
  });
});
