import SunCalc from 'suncalc';
import { localTime } from '../local-time';
import type { SignalContext } from './context';

/** Sun altitude (degrees) at which sunrise/sunset are defined (upper limb with refraction). */
const HORIZON_DEG = -0.833;

export function isDark(ctx: Pick<SignalContext, 'lat' | 'lon'>, t: number): boolean {
  const { altitude } = SunCalc.getPosition(new Date(t), ctx.lat, ctx.lon);
  return (altitude * 180) / Math.PI < HORIZON_DEG;
}

/** Hour (local) after which the lights dim to save energy, and the dimmed level. */
export const DIM_AFTER_HOUR = 23;
export const DIM_LEVEL = 50;

/**
 * The cabinet's astronomical clock: full output from sunset, 50 % from 23:00 until sunrise, off by day.
 */
export function scheduledLevel(ctx: Pick<SignalContext, 'lat' | 'lon' | 'timeZone'>, t: number): number {
  if (!isDark(ctx, t)) return 0;
  const hour = localTime(t, ctx.timeZone).hour;
  return hour >= DIM_AFTER_HOUR || hour < 12 ? DIM_LEVEL : 100;
}
