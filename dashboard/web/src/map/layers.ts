import type { CityModel, MapAnswer, WardOverview } from '../api/types';
import type { DeviceState } from '../components/CityMap';

/** The map's layers: one per domain plus alarms; each shows its devices (air also colours the ward areas). */
export const MAP_LAYERS = ['air', 'noise', 'water', 'traffic', 'lighting', 'alarms'] as const;
export type MapLayerId = (typeof MAP_LAYERS)[number];

/** Which device kinds each layer draws (alarms draws no kind of its own: it marks devices and wards in alarm). */
export const LAYER_KINDS: Record<MapLayerId, readonly string[]> = {
  air: ['air_station', 'pm_sensor'],
  noise: ['noise_meter'],
  water: ['water_level'],
  traffic: ['traffic_counter'],
  lighting: ['street_light'],
  alarms: [],
};

/** What a click on the map picked. */
export type MapSelection = { type: 'ward'; id: string } | { type: 'device'; id: string; ward: string };

type Point = {
  type: 'Feature';
  id: number;
  geometry: { type: 'Point'; coordinates: [number, number] };
  properties: Record<string, string | number>;
};
export interface PointCollection {
  type: 'FeatureCollection';
  features: Point[];
}

/** Devices at their latitude and longitude, with the state the markers are drawn by. */
export function deviceFeatures(city: CityModel, states: ReadonlyMap<string, DeviceState>): PointCollection {
  return {
    type: 'FeatureCollection',
    features: city.devices.map((d, i) => ({
      type: 'Feature',
      id: i,
      geometry: { type: 'Point', coordinates: [d.lon, d.lat] },
      properties: { id: d.id, kind: d.kind, ward: d.ward, state: states.get(d.id) ?? 'stale' },
    })),
  };
}

/** Ward areas with the live values the layers colour them by (AQI colour as served, open alarms). */
export function wardFeatures(areas: MapAnswer['wardAreas'], wards: readonly WardOverview[], aqiColor: (value: number) => string | null) {
  const byId = new Map(wards.map((w) => [w.ward, w]));
  return {
    ...areas,
    features: areas.features.map((f, i) => {
      const w = byId.get(f.properties.ward);
      const aqi = w?.aqi?.value;
      const color = aqi === undefined ? null : aqiColor(aqi);
      const alarms = w ? w.alarms.critical + w.alarms.major + w.alarms.minor + w.alarms.warning : 0;
      return { ...f, id: i, properties: { ...f.properties, ...(color ? { aqiColor: color } : {}), alarms } };
    }),
  };
}

/** [[west, south], [east, north]] around the ward areas, or the ward centres and devices when there are none. */
export function cityBounds(city: CityModel, areas: MapAnswer['wardAreas']): [[number, number], [number, number]] {
  const points: [number, number][] = areas.features.length
    ? areas.features.flatMap((f) => f.geometry.coordinates[0] ?? [])
    : [...city.wards, ...city.devices].map((p) => [p.lon, p.lat]);
  if (!points.length)
    return [
      [city.lon - 0.05, city.lat - 0.05],
      [city.lon + 0.05, city.lat + 0.05],
    ];
  const lons = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  return [
    [Math.min(...lons), Math.min(...lats)],
    [Math.max(...lons), Math.max(...lats)],
  ];
}

/** Whether this browser can draw the map (some wall PCs have no WebGL). */
export function webglAvailable(): boolean {
  try {
    const canvas = document.createElement('canvas');
    return !!(canvas.getContext('webgl2') ?? canvas.getContext('webgl'));
  } catch {
    return false;
  }
}
