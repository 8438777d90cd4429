import { smoothNoise } from '../random';
import { CH, type SignalContext } from './context';
import { trafficIndex } from './traffic';

/**
 * Road-side LAeq follows traffic on a log scale: about 68–72 dB(A) at rush hour on a busy street,
 * mid-50s at night; sensors in QCVN 26 "special" zones (hospitals, schools) sit back from traffic, ~10 dB quieter.
 */
export function soundLevel(ctx: SignalContext, t: number, zone: 'special' | 'normal' = 'normal', siteKey = 0): number {
  const traffic = trafficIndex(ctx, t);
  const base = zone === 'special' ? 59 : 69;
  const slow = 1.5 * smoothNoise(ctx.seed + siteKey, CH.noise, t, 30 * 60_000);
  const fast = 1.2 * smoothNoise(ctx.seed + siteKey, CH.noiseFast, t, 20_000);
  return Math.max(30, base + 10 * Math.log10(traffic + 0.06) + slow + fast);
}
