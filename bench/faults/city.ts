import { join, resolve } from 'node:path';
import { cityModelSchema, type CityModel, type DeviceKind } from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** Modbus kinds only: pm_sensor is a UART sensor and cannot sit behind a Modbus TCP gateway. */
const KINDS: DeviceKind[] = ['air_station', 'noise_meter', 'water_level', 'street_light', 'traffic_counter'];

export interface FaultCityOptions {
  gateways: number;
  devicesPerGateway: number;
  pollIntervalMs: number;
}

/**
 * A load-test city on Tam Kỳ's real wards (config/tam-ky/city.yaml): gateways spread round-robin over
 * the wards, `devicesPerGateway` devices behind each (kinds in rotation). Ids: `gw-<ward>-<n>` and
 * `<gateway>-d<i>`; device i sits at Modbus unit id i (1..247, one RS-485 bus behind one TCP gateway).
 */
export function faultCity(opts: FaultCityOptions): CityModel {
  if (opts.devicesPerGateway > 247) throw new Error('at most 247 devices per gateway (Modbus unit ids 1..247)');
  const base = loadConfigFile(join(REPO_ROOT, 'config/tam-ky/city.yaml'), cityModelSchema);
  const wards = base.wards;
  const gateways = Array.from({ length: opts.gateways }, (_, g) => {
    const ward = wards[g % wards.length]!;
    return { id: `gw-${ward.id}-${Math.floor(g / wards.length) + 1}`, ward: ward.id, name: `Fault gateway ${g + 1}` };
  });
  const devices = gateways.flatMap((gw, g) => {
    const ward = wards.find((w) => w.id === gw.ward)!;
    return Array.from({ length: opts.devicesPerGateway }, (_, d) => {
      const kind = KINDS[(g + d) % KINDS.length]!;
      return {
        id: `${gw.id}-d${d + 1}`,
        kind,
        name: `${kind} ${gw.id}/${d + 1}`,
        ward: gw.ward,
        gateway: gw.id,
        lat: ward.lat + ((d % 7) - 3) * 0.001,
        lon: ward.lon + ((d % 5) - 2) * 0.001,
        pollIntervalMs: opts.pollIntervalMs,
        ...(kind === 'water_level' ? { mountingHeightM: 6, alarmLevels: [2, 3, 4] } : {}),
        ...(kind === 'street_light' ? { lamps: 4, ratedPowerW: 120 } : {}),
        ...(kind === 'traffic_counter' ? { lanes: 2 } : {}),
      };
    });
  });
  return cityModelSchema.parse({
    id: 'fault-city',
    name: 'Fault-injection city',
    timeZone: base.timeZone,
    lat: base.lat,
    lon: base.lon,
    wards,
    gateways,
    devices,
  });
}
