import type { HourBucket } from './hour-buckets';
import type { CongestionConfig } from '@tamky/protocol';

const CLASSES = ['motorbike', 'car', 'bus', 'truck'] as const;

/**
 * Congestion index of one counter reading, 0 (free) .. 1 (jammed): per lane
 * clamp(max(occupancy / jamOccupancyPct, 1 − speed / freeFlowSpeedKmh), 0, 1), averaged over lanes that
 * report occupancy or speed. A lane with no vehicles counted and no occupancy has speed 0 on most counters:
 * it is free, so speed only counts when the lane saw vehicles.
 */
export function congestionIndex(cfg: CongestionConfig, values: Record<string, number>): number | undefined {
  let sum = 0;
  let lanes = 0;
  for (let lane = 1; lane <= 4; lane++) {
    const occ = values[`lane${lane}_occupancy`];
    const speed = values[`lane${lane}_speed`];
    if (occ === undefined && speed === undefined) continue;
    const vehicles = CLASSES.reduce((s, c) => s + (values[`lane${lane}_${c}`] ?? 0), 0);
    const byOcc = occ === undefined ? 0 : occ / cfg.jamOccupancyPct;
    const bySpeed = speed === undefined || vehicles === 0 ? 0 : 1 - speed / cfg.freeFlowSpeedKmh;
    sum += Math.min(1, Math.max(0, byOcc, bySpeed));
    lanes++;
  }
  return lanes === 0 ? undefined : sum / lanes;
}

export function congestionLevel(cfg: CongestionConfig, index: number): number {
  const i = cfg.levels.findIndex((l) => index <= l.max);
  return (i === -1 ? cfg.levels.length - 1 : i) + 1;
}

/** `congestion` for the hour: mean index, level, flow (vehicles counted in the hour so far) by class, mean speed. */
export function trafficValues(cfg: CongestionConfig, bucket: HourBucket): Record<string, number> | undefined {
  const idx = bucket.extra.get('congestion');
  if (!idx || idx.n === 0) return undefined;
  const index = idx.sum / idx.n;
  const values: Record<string, number> = {
    index: Math.round(index * 1000) / 1000,
    level: congestionLevel(cfg, index),
    samples: bucket.seen.size,
  };
  let flow = 0;
  for (const c of CLASSES) {
    let n = 0;
    for (let lane = 1; lane <= 4; lane++) n += bucket.sum(`lane${lane}_${c}`) ?? 0;
    values[c] = n;
    flow += n;
  }
  values.flow = flow;
  let speedSum = 0;
  let speedN = 0;
  for (let lane = 1; lane <= 4; lane++) {
    const acc = bucket.fields.get(`lane${lane}_speed`);
    if (acc) {
      speedSum += acc.sum;
      speedN += acc.n;
    }
  }
  if (speedN > 0) values.speed = Math.round((speedSum / speedN) * 10) / 10;
  return values;
}
