import { dailyCurve, localTime } from '../local-time';
import { smoothNoise } from '../random';
import { CH, type SignalContext } from './context';
import { humidity, rainIntensity, temperature } from './weather';
import { trafficIndex } from './traffic';

export interface AirSample {
  so2: number;
  no2: number;
  /** µg/m³ */
  co: number;
  o3: number;
  pm25: number;
  pm10: number;
  temperature: number;
  humidity: number;
}

/**
 * PM2.5 peaks in the morning (rush-hour traffic under the night-time inversion that has not yet
 * broken up), dips in the well-mixed afternoon, rises again in the evening; rain washes it out.
 * The dry season is dustier. NO2 and CO follow traffic; O3 is photochemical and peaks early afternoon.
 */
export function airQuality(ctx: SignalContext, t: number, siteKey = 0): AirSample {
  const lt = localTime(t, ctx.timeZone);
  const rain = rainIntensity(ctx, t);
  const traffic = trafficIndex(ctx, t);
  const dry = lt.month >= 1 && lt.month <= 8;
  const seasonPm = dry ? 30 : 20;
  const mixing = dailyCurve(
    [
      [0, 1.15],
      [4, 1.25],
      [6.5, 1.35],
      [8, 1.3],
      [10, 0.9],
      [13, 0.65],
      [16, 0.7],
      [19, 1.05],
      [22, 1.15],
      [24, 1.15],
    ],
    lt.hour,
  );
  const seed = ctx.seed + siteKey;
  const pm25 = Math.max(
    3,
    seasonPm * mixing * (0.55 + 0.55 * traffic) * (1 - 0.55 * rain) * (1 + 0.25 * smoothNoise(seed, CH.pm, t, 90 * 60_000)),
  );
  const pm10 = pm25 * (1.6 + 0.25 * smoothNoise(seed, CH.pmRatio, t, 4 * 3_600_000)) * (1 - 0.2 * rain);
  const no2 = Math.max(4, (10 + 45 * traffic) * (0.6 + 0.5 * mixing) * (1 + 0.15 * smoothNoise(seed, CH.no2, t, 60 * 60_000)));
  const co = Math.max(200, (450 + 1600 * traffic) * (0.6 + 0.5 * mixing) * (1 + 0.15 * smoothNoise(seed, CH.co, t, 60 * 60_000)));
  const sun = dailyCurve(
    [
      [0, 0],
      [6, 0.05],
      [9, 0.45],
      [13.5, 1],
      [16, 0.7],
      [18.5, 0.15],
      [20, 0.05],
      [24, 0],
    ],
    lt.hour,
  );
  const o3 = Math.max(
    5,
    (18 + 95 * sun * (1 - 0.6 * rain) - 12 * traffic * (1 - sun)) * (1 + 0.12 * smoothNoise(seed, CH.o3, t, 2 * 3_600_000)),
  );
  const so2 = Math.max(1, 7 + 3 * traffic + 2 * smoothNoise(seed, CH.so2, t, 3 * 3_600_000));
  return { so2, no2, co, o3, pm25, pm10, temperature: temperature(ctx, t), humidity: humidity(ctx, t) };
}
