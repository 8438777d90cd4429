import { deviceExpectedIntervalMs } from '@tamky/protocol/intervals';
import type { CityModel } from '../api/types';

type Device = CityModel['devices'][number];

/**
 * Data is stale once it is older than this many of its device's own expected intervals: late enough that a
 * slow batch or one missed poll never flags it, early enough that a silent device shows within minutes.
 */
export const STALE_FACTOR = 2.5;

export const deviceExpectedMs = deviceExpectedIntervalMs;

/** The slowest expected interval among some devices (null when there are none: nothing to expect). */
export function slowestExpectedMs(devices: readonly Device[]): number | null {
  return devices.length ? Math.max(...devices.map(deviceExpectedMs)) : null;
}

/** No data at all, or data older than STALE_FACTOR expected intervals. */
export function isStale(lastDataAt: number | null | undefined, expectedMs: number, now: number): boolean {
  return !lastDataAt || now - lastDataAt > expectedMs * STALE_FACTOR;
}
