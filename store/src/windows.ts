import type { Aggregate } from '@tamky/protocol';

/** Partial aggregate of one window: enough to merge windows and to answer every Aggregate. */
export interface Accumulator {
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  lastTs: number;
}

export function emptyAccumulator(): Accumulator {
  return { count: 0, sum: 0, min: Infinity, max: -Infinity, last: Number.NaN, lastTs: -Infinity };
}

export function addValue(acc: Accumulator, ts: number, v: number): void {
  acc.count += 1;
  acc.sum += v;
  if (v < acc.min) acc.min = v;
  if (v > acc.max) acc.max = v;
  if (ts >= acc.lastTs) {
    acc.lastTs = ts;
    acc.last = v;
  }
}

export function mergeAccumulator(into: Accumulator, from: Accumulator): void {
  into.count += from.count;
  into.sum += from.sum;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
  if (from.lastTs >= into.lastTs) {
    into.lastTs = from.lastTs;
    into.last = from.last;
  }
}

export function finish(acc: Accumulator, aggregate: Aggregate): number {
  switch (aggregate) {
    case 'mean':
      return acc.sum / acc.count;
    case 'min':
      return acc.min;
    case 'max':
      return acc.max;
    case 'last':
      return acc.last;
    case 'sum':
      return acc.sum;
    case 'count':
      return acc.count;
  }
}

/** Defined beside Series.clock, whose windows it also places. */
export { windowStart } from '@tamky/protocol';
