import type { LimitsFile, MapAnswer } from '../api/types';
import type { MapLayerBand, MapLayerLevels } from '../../../../protocol/src/map';
import { aqiLevelOf } from '../../../../protocol/src/aqi-levels';
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

/** What the map draws of a city: the operators' full model, or the residents' public wards with no devices. */
export interface MapCity {
  lat: number;
  lon: number;
  wards: ReadonlyArray<{ id: string; name: string; lat: number; lon: number; map: { x: number; y: number } }>;
  devices: ReadonlyArray<{ id: string; kind: string; ward: string; lat: number; lon: number }>;
}

/** A ward's live values the map shows (the operators' overview; the residents' summary gives VN_AQI only). */
export interface MapWard {
  ward: string;
  aqi?: { value: number } | null;
  noise?: { laeq: number; limit: number } | null;
  water?: { stage: number } | null;
  traffic?: { congestion: number | null } | null;
  lights?: { failed: number; total: number } | null;
  alarms?: { critical: number; major: number; minor: number; warning: number };
}

/** The layers that colour ward areas by a value (alarms outlines them instead). */
export const VALUE_LAYERS = ['air', 'noise', 'water', 'traffic', 'lighting'] as const;
export type ValueLayerId = (typeof VALUE_LAYERS)[number];

/** Every scale the layers colour by, as served: VN_AQI and congestion levels (GET /api/limits), the rest GET /api/map. */
export interface LayerScales {
  aqi: LimitsFile['aqi']['levels'] | null;
  congestion: LimitsFile['congestion']['levels'] | null;
  layers: MapLayerLevels | undefined;
}

type Rgb = [number, number, number];
/** The band a value falls in: the first whose max it does not exceed (the last above every max). */
const bandOf = (bands: readonly MapLayerBand[], v: number): MapLayerBand => bands.find((b) => v <= b.max) ?? bands[bands.length - 1]!;

/** The colour of a ward's value on a layer's served scale; null without a value or a scale. */
export function layerColor(layer: ValueLayerId, w: MapWard | undefined, s: LayerScales): Rgb | null {
  if (!w) return null;
  switch (layer) {
    case 'air':
      return w.aqi && s.aqi ? aqiLevelOf(s.aqi, w.aqi.value).rgb : null;
    case 'noise':
      return w.noise && s.layers ? bandOf(s.layers.noise, w.noise.laeq - w.noise.limit).rgb : null;
    case 'water':
      return w.water && s.layers ? bandOf(s.layers.water, w.water.stage).rgb : null;
    case 'traffic': {
      const c = w.traffic?.congestion;
      if (c === null || c === undefined || !s.layers || !s.congestion) return null;
      const i = s.congestion.findIndex((l) => c <= l.max);
      return s.layers.traffic[i < 0 ? s.congestion.length - 1 : i] ?? null;
    }
    case 'lighting':
      return w.lights && w.lights.total > 0 && s.layers ? bandOf(s.layers.lighting, w.lights.failed / w.lights.total).rgb : null;
  }
}

/** A layer's legend: each level's colour and name, from the same served scales. */
export function layerLegend(layer: ValueLayerId, s: LayerScales): Array<{ rgb: Rgb; vi: string; en: string }> {
  if (layer === 'air') return (s.aqi ?? []).map((l) => ({ rgb: l.rgb, vi: l.vi, en: l.en }));
  if (!s.layers) return [];
  if (layer === 'traffic') return (s.congestion ?? []).map((l, i) => ({ rgb: s.layers!.traffic[i]!, vi: l.vi, en: l.en }));
  return s.layers[layer];
}

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
export function deviceFeatures(city: MapCity, states: ReadonlyMap<string, DeviceState>): PointCollection {
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

/** Ward areas with what the layers draw: the fill colour of the chosen layer's value (`fill`), open alarms. */
export function wardFeatures(areas: MapAnswer['wardAreas'], wards: readonly MapWard[], fillOf: (ward: string) => string | null) {
  const byId = new Map(wards.map((w) => [w.ward, w]));
  return {
    ...areas,
    features: areas.features.map((f, i) => {
      const w = byId.get(f.properties.ward);
      const fill = fillOf(f.properties.ward);
      const alarms = w?.alarms ? w.alarms.critical + w.alarms.major + w.alarms.minor + w.alarms.warning : 0;
      return { ...f, id: i, properties: { ...f.properties, ...(fill ? { fill } : {}), alarms } };
    }),
  };
}

/** [[west, south], [east, north]] around the ward areas, or the ward centres and devices when there are none. */
export function cityBounds(city: MapCity, areas: MapAnswer['wardAreas']): [[number, number], [number, number]] {
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

let webgl: boolean | undefined;

/**
 * Whether this browser can draw the map (some wall PCs have no WebGL). Asked once per page: making a context is
 * tens of ms on the main thread where WebGL is emulated in software, and every map mounted would ask again. The
 * probe's context is let go at once (a browser keeps only a few alive; MapLibre makes its own).
 */
export function webglAvailable(): boolean {
  if (webgl !== undefined) return webgl;
  try {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
    webgl = gl !== null;
  } catch {
    webgl = false;
  }
  return webgl;
}
