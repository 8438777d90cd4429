import type { CityModel } from '../api/types';
import { slowestExpectedMs } from './freshness';

/** What the schematic map needs of a city: wards at their map positions and which ward each device is in. */
export interface SchematicCity {
  wards: ReadonlyArray<{ id: string; name: string; map: { x: number; y: number } }>;
  devices: ReadonlyArray<{ id: string; ward: string }>;
}

/** Expected interval between readings of a kind (in a ward): the slowest of its devices' own intervals. */
export function expectedIntervalMs(city: CityModel, kind: string, ward?: string): number {
  return slowestExpectedMs(city.devices.filter((d) => d.kind === kind && (!ward || d.ward === ward))) ?? 60_000;
}

/**
 * Device markers sit on a small ring around their ward's schematic point (city.wards[].map): devices of a
 * ward are a few hundred metres apart, so true positions would overlap at city scale.
 */
export function devicePositions(city: SchematicCity, radius = 4.5): Map<string, { x: number; y: number }> {
  const byWard = new Map<string, SchematicCity['devices'][number][]>();
  for (const d of city.devices) byWard.set(d.ward, [...(byWard.get(d.ward) ?? []), d]);
  const out = new Map<string, { x: number; y: number }>();
  for (const ward of city.wards) {
    const devices = byWard.get(ward.id) ?? [];
    devices.forEach((d, i) => {
      const angle = (2 * Math.PI * i) / Math.max(devices.length, 1) - Math.PI / 2;
      out.set(d.id, { x: ward.map.x + radius * Math.cos(angle), y: ward.map.y + radius * Math.sin(angle) });
    });
  }
  return out;
}
