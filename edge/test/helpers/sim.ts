import type { Device, DeviceKind } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { TAM_KY } from '@tamky/firmware-sim';

export const simCity = { ...TAM_KY };
export const quietLog = createLogger('edge-test', { level: process.env.LOG_LEVEL ?? 'silent' });

/** A city-model device for the firmware simulator. */
export function simDevice(kind: DeviceKind, id: string, extra: Partial<Device> = {}): Device {
  return { id, kind, name: id, ward: 'an-my', gateway: 'gw-test', lat: 15.57, lon: 108.47, pollIntervalMs: 1000, tags: [], ...extra };
}
