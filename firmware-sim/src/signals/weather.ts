import { localTime, dailyCurve } from '../local-time';
import { smoothNoise, uniform } from '../random';
import { CH, type SignalContext } from './context';

/**
 * Central-coast Vietnam weather: a dry season (Feb–Aug) and a rainy season (Sep–Dec, typhoons and
 * floods in Oct–Nov). Monthly mean temperatures and rain-day chances for Tam Kỳ, approximate.
 */
const MEAN_TEMP = [21.5, 22.5, 24.5, 27, 29, 29.5, 29.5, 29, 27.5, 26, 24.5, 22.5];
const RAIN_DAY_CHANCE = [0.35, 0.15, 0.12, 0.15, 0.25, 0.25, 0.25, 0.3, 0.55, 0.7, 0.7, 0.55];

/** Whether a local day is a rain day (same answer for the whole day, city-wide). */
export function isRainDay(ctx: SignalContext, t: number): boolean {
  const lt = localTime(t, ctx.timeZone);
  return uniform(ctx.seed, CH.rainDay, lt.dayIndex) < RAIN_DAY_CHANCE[lt.month - 1]!;
}

/** Rain intensity 0..1 at time t: showers on rain days, heavier in the afternoon. */
export function rainIntensity(ctx: SignalContext, t: number): number {
  if (!isRainDay(ctx, t)) return 0;
  const lt = localTime(t, ctx.timeZone);
  const afternoon = dailyCurve(
    [
      [0, 0.4],
      [6, 0.3],
      [12, 0.5],
      [15, 0.9],
      [19, 0.6],
      [24, 0.4],
    ],
    lt.hour,
  );
  return Math.max(0, Math.min(1, afternoon + 0.4 * smoothNoise(ctx.seed, CH.rainHour, t, 2 * 3_600_000)));
}

export function temperature(ctx: SignalContext, t: number): number {
  const lt = localTime(t, ctx.timeZone);
  const rain = rainIntensity(ctx, t);
  // Coolest just before dawn, warmest early afternoon.
  const shape = dailyCurve(
    [
      [0, -0.6],
      [5, -1],
      [9, 0.1],
      [14, 1],
      [18, 0.3],
      [24, -0.6],
    ],
    lt.hour,
  );
  const amplitude = rain > 0 ? 2.5 : 4;
  return MEAN_TEMP[lt.month - 1]! + amplitude * shape - 1.5 * rain + 0.8 * smoothNoise(ctx.seed, CH.temperature, t, 3 * 3_600_000);
}

export function humidity(ctx: SignalContext, t: number): number {
  const lt = localTime(t, ctx.timeZone);
  const rain = rainIntensity(ctx, t);
  const shape = dailyCurve(
    [
      [0, 88],
      [5, 92],
      [9, 78],
      [14, 66],
      [18, 76],
      [24, 88],
    ],
    lt.hour,
  );
  return Math.max(30, Math.min(100, shape + 12 * rain + 4 * smoothNoise(ctx.seed, CH.humidity, t, 3 * 3_600_000)));
}
