import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import {
  ConfigError,
  mapLayerLevelsSchema,
  wardAreasSchema,
  type BasemapAnswer,
  type CityModel,
  type Limits,
  type MapLayerLevels,
  type WardAreas,
} from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import type { ResolvedDashboardConfig } from '../config';

/** Where the web app fetches a PMTiles basemap served by the dashboard itself. */
export const PMTILES_PATH = '/map/basemap.pmtiles';

export interface MapData {
  basemap: BasemapAnswer;
  wardAreas: WardAreas;
  /** How the layers colour wards by value (operators' map only). */
  layers: MapLayerLevels | undefined;
  /** The PMTiles archive to serve (absolute path), when the basemap is one. */
  pmtilesFile: string | null;
  /** Origins the page must be allowed to fetch from (Content-Security-Policy connect-src and img-src). */
  origins: string[];
}

/** Loads and checks the map config at start: an invalid ward areas file or a missing PMTiles file refuses the start. */
export function loadMapData(config: ResolvedDashboardConfig['map'], city: CityModel, limits: Limits): MapData {
  const layers = config.layers ? loadConfigFile(config.layers, mapLayerLevelsSchema) : undefined;
  if (layers && layers.traffic.length !== limits.congestion.levels.length)
    throw new ConfigError(
      config.layers!,
      `${config.layers}: traffic: ${layers.traffic.length} colours for ${limits.congestion.levels.length} congestion levels (config/limits/congestion.yaml): one each`,
    );
  let wardAreas: WardAreas = { type: 'FeatureCollection', features: [] };
  if (config.wardAreas) {
    wardAreas = loadConfigFile(config.wardAreas, wardAreasSchema);
    const wards = new Set(city.wards.map((w) => w.id));
    const unknown = wardAreas.features.map((f, i) => [i, f.properties.ward] as const).filter(([, w]) => !wards.has(w));
    if (unknown.length)
      throw new ConfigError(
        config.wardAreas,
        unknown
          .map(([i, w]) => `${config.wardAreas}: features[${i}].properties.ward: unknown ward "${w}" (not in the city model)`)
          .join('\n'),
      );
  }
  const b = config.basemap;
  const origins = config.allowOrigins.map((u) => new URL(u).origin);
  let basemap: BasemapAnswer = { type: 'none' };
  let pmtilesFile: string | null = null;
  if (b.type === 'style') {
    basemap = { type: 'style', url: b.url };
    origins.push(new URL(b.url).origin);
  } else if (b.type === 'tiles') {
    basemap = { type: 'tiles', tiles: b.tiles, tileSize: b.tileSize, maxzoom: b.maxzoom, attribution: b.attribution };
    // The {z}/{x}/{y} placeholders are not valid in a host, so the origin is read from the URL as written.
    for (const t of b.tiles) origins.push(new URL(t.replace(/\{[a-z]\}/g, '0')).origin);
  } else if (b.type === 'pmtiles') {
    pmtilesFile = resolve(b.file);
    try {
      if (!statSync(pmtilesFile).isFile()) throw new Error('not a file');
    } catch (err) {
      throw new ConfigError('map.basemap.file', `map.basemap.file: cannot read PMTiles archive ${pmtilesFile}: ${(err as Error).message}`);
    }
    basemap = { type: 'pmtiles', url: `/api${PMTILES_PATH}`, maxzoom: b.maxzoom, attribution: b.attribution };
  }
  return { basemap, wardAreas, layers, pmtilesFile, origins: [...new Set(origins)] };
}

/** The ward areas a caller may see (an API token limited to wards sees only those). */
export function wardAreasIn(areas: WardAreas, wards: readonly string[] | undefined): WardAreas {
  if (!wards) return areas;
  const keep = new Set(wards);
  return { ...areas, features: areas.features.filter((f) => keep.has(f.properties.ward)) };
}
