import { dailyCurve, localTime } from '../local-time';
import { count, smoothNoise, uniform } from '../random';
import { CH, type SignalContext } from './context';

/**
 * Traffic intensity relative to the weekday rush-hour peak (1.0): rush hours 06:30–08:00 and
 * 16:30–18:30 local time, a lunchtime bump, near-empty streets from midnight to 05:00.
 */
const WEEKDAY: ReadonlyArray<readonly [number, number]> = [
  [0, 0.08],
  [3, 0.03],
  [5, 0.12],
  [6, 0.5],
  [6.5, 0.95],
  [7.25, 1],
  [8, 0.95],
  [8.75, 0.6],
  [11, 0.55],
  [12, 0.65],
  [13.5, 0.45],
  [15.5, 0.55],
  [16.5, 0.95],
  [17.5, 1],
  [18.5, 0.95],
  [19.25, 0.65],
  [21, 0.4],
  [22.5, 0.2],
  [24, 0.08],
];
const WEEKEND: ReadonlyArray<readonly [number, number]> = [
  [0, 0.12],
  [3, 0.04],
  [6, 0.3],
  [8, 0.6],
  [11, 0.65],
  [14, 0.5],
  [17, 0.75],
  [19.5, 0.7],
  [22, 0.35],
  [24, 0.12],
];

export function trafficIndex(ctx: SignalContext, t: number): number {
  const lt = localTime(t, ctx.timeZone);
  const weekend = lt.weekday === 0 || lt.weekday === 6;
  const base = dailyCurve(weekend ? WEEKEND : WEEKDAY, lt.hour);
  return Math.max(0.01, base * (1 + 0.08 * smoothNoise(ctx.seed, CH.traffic, t, 20 * 60_000)));
}

/** Vehicles per hour per lane at the rush-hour peak on a main road of a small city. */
export const PEAK_VEHICLES_PER_LANE_HOUR = 1400;

export interface LaneInterval {
  motorbike: number;
  car: number;
  bus: number;
  truck: number;
  /** km/h */
  speed: number;
  /** percent */
  occupancy: number;
}

const LENGTH_M = { motorbike: 2, car: 4.5, bus: 11, truck: 8 }; // vehicle length + loop length share

/**
 * Counts of one closed interval on one lane. Motorbikes 80–90 % of the count (more of the trucks at
 * night, when heavy vehicles are allowed into town); speed falls and occupancy rises with flow.
 */
export function laneInterval(ctx: SignalContext, deviceKey: number, lane: number, intervalStart: number, intervalS: number): LaneInterval {
  const mid = intervalStart + (intervalS * 1000) / 2;
  const index = trafficIndex(ctx, mid);
  const laneShare = lane === 1 ? 1.1 : lane === 2 ? 1 : 0.85; // kerb lanes carry the motorbikes
  const mean = PEAK_VEHICLES_PER_LANE_HOUR * index * laneShare * (intervalS / 3600);
  const total = count(mean, ctx.seed, deviceKey, lane, intervalStart, 1);
  const lt = localTime(mid, ctx.timeZone);
  const night = lt.hour < 5 || lt.hour >= 22;
  const bikeShare = 0.8 + 0.1 * uniform(ctx.seed, deviceKey, lane, intervalStart, 2) - (night ? 0.05 : 0);
  const busShare = night ? 0.002 : 0.012;
  const truckShare = night ? 0.07 : 0.025;
  const bus = count(total * busShare, ctx.seed, deviceKey, lane, intervalStart, 3);
  const truck = count(total * truckShare, ctx.seed, deviceKey, lane, intervalStart, 4);
  const motorbike = Math.min(total - bus - truck, Math.round(total * bikeShare));
  const car = Math.max(0, total - motorbike - bus - truck);
  // Free flow ~48 km/h in town; congestion at peak brings it toward 20 km/h.
  const speed = total === 0 ? 0 : Math.max(8, 48 - 26 * index * index + 3 * (uniform(ctx.seed, deviceKey, lane, intervalStart, 5) - 0.5));
  const occupiedM = motorbike * LENGTH_M.motorbike + car * LENGTH_M.car + bus * LENGTH_M.bus + truck * LENGTH_M.truck;
  const occupancy = speed === 0 ? 0 : Math.min(100, (occupiedM / ((speed / 3.6) * intervalS)) * 100);
  return { motorbike: Math.max(0, motorbike), car, bus, truck, speed, occupancy };
}
