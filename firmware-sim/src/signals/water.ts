import { smoothNoise } from '../random';
import { CH, type SignalContext } from './context';
import { rainIntensity } from './weather';

const M2_TIDE_MS = 12.42 * 3_600_000; // principal lunar semi-diurnal tide

/**
 * Water level (m above the station datum) on the tidal lower Tam Kỳ river / Trường Giang: a
 * semi-diurnal tide, slow river variation, and rain raising it over hours. `normalM` is the usual
 * level (set below alarm 1).
 */
export function waterLevel(ctx: SignalContext, t: number, normalM: number, siteKey = 0): number {
  const tide = 0.35 * Math.sin((2 * Math.PI * t) / M2_TIDE_MS + (siteKey % 7));
  const river = 0.25 * smoothNoise(ctx.seed + siteKey, CH.river, t, 18 * 3_600_000);
  // Rain runoff arrives with a lag: look at rain a few hours earlier.
  const runoff = 0.5 * rainIntensity(ctx, t - 3 * 3_600_000);
  return normalM + tide + river + runoff;
}

/** Flood-event offset: rises over `riseMs` with an S-curve, then holds at `riseM`. */
export function floodRise(elapsedMs: number, riseMs: number, riseM: number): number {
  if (elapsedMs <= 0) return 0;
  const x = Math.min(1, elapsedMs / riseMs);
  return riseM * (x * x * (3 - 2 * x));
}
