import { cityModelSchema, type CityModel, type DeviceKind } from '@tamky/protocol';
import { TAM_KY } from './signals/context';

const CYCLE: DeviceKind[] = ['air_station', 'noise_meter', 'water_level', 'street_light', 'traffic_counter'];

/**
 * A synthetic city for load tests: `gateways` gateways with `devicesPerGateway` devices each, kinds in
 * rotation, scattered around Tam Kỳ. Ids are `gw-<g>` and `gw-<g>-<kind>-<d>`.
 */
export function generateCity(gateways: number, devicesPerGateway: number): CityModel {
  const wards = [{ id: 'gen', name: 'Generated', type: 'phuong' as const, lat: TAM_KY.lat, lon: TAM_KY.lon, map: { x: 50, y: 50 } }];
  const gws = Array.from({ length: gateways }, (_, g) => ({ id: `gw-${g + 1}`, ward: 'gen', name: `Gateway ${g + 1}` }));
  const devices = gws.flatMap((gw, g) =>
    Array.from({ length: devicesPerGateway }, (_, d) => {
      const kind = CYCLE[(g + d) % CYCLE.length]!;
      return {
        id: `${gw.id}-${kind.replace(/_/g, '-')}-${d + 1}`,
        kind,
        name: `${kind} ${g + 1}.${d + 1}`,
        ward: 'gen',
        gateway: gw.id,
        lat: TAM_KY.lat + ((g % 10) - 5) * 0.004,
        lon: TAM_KY.lon + ((d % 10) - 5) * 0.004,
        ...(kind === 'water_level' ? { mountingHeightM: 6, alarmLevels: [2, 3, 4] } : {}),
        ...(kind === 'street_light' ? { lamps: 4, ratedPowerW: 120 } : {}),
        ...(kind === 'traffic_counter' ? { lanes: 2, publishIntervalMs: 60_000 } : {}),
      };
    }),
  );
  return cityModelSchema.parse({
    id: 'generated',
    name: 'Generated city',
    timeZone: TAM_KY.timeZone,
    lat: TAM_KY.lat,
    lon: TAM_KY.lon,
    wards,
    gateways: gws,
    devices,
  });
}
