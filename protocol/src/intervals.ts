import type { Device } from './city';

/**
 * How often a device's readings are expected: its publish interval when it publishes slower than it is
 * polled (a traffic counter: once per closed counting interval). Staleness and no-data alarms judge from
 * this. Its own module, free of zod, so the web app can import it without the schemas.
 */
export function deviceExpectedIntervalMs(device: Pick<Device, 'pollIntervalMs' | 'publishIntervalMs'>): number {
  return Math.max(device.pollIntervalMs, device.publishIntervalMs ?? 0);
}
