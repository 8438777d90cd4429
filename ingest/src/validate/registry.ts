import type { CityModel, Device } from '@tamky/protocol';

/** Lookups the validator and the partition planner need, built once from the city model. */
export interface Registry {
  device(id: string): Device | undefined;
  hasGateway(id: string): boolean;
  gateways(): string[];
  devices(): Device[];
}

export function buildRegistry(city: CityModel): Registry {
  const devices = new Map(city.devices.map((d) => [d.id, d]));
  const gateways = new Set(city.gateways.map((g) => g.id));
  return {
    device: (id) => devices.get(id),
    hasGateway: (id) => gateways.has(id),
    gateways: () => [...gateways],
    devices: () => [...devices.values()],
  };
}
