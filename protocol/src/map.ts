import { z } from 'zod';
import { ID_HINT, ID_PATTERN } from './ids';

/** [longitude, latitude], WGS84 (GeoJSON order). */
const position = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]);
/** A closed ring: at least four positions, the last equal to the first. */
const ring = z
  .array(position)
  .min(4)
  .refine((r) => r[0]![0] === r[r.length - 1]![0] && r[0]![1] === r[r.length - 1]![1], 'ring must be closed (last position = first)');

export const wardAreaFeatureSchema = z.object({
  type: z.literal('Feature'),
  properties: z.object({
    ward: z.string().regex(ID_PATTERN, ID_HINT),
    /** True when the outline is an estimate (e.g. generated from ward centres), not a surveyed boundary. */
    approximate: z.boolean(),
  }),
  geometry: z.object({ type: z.literal('Polygon'), coordinates: z.array(ring).min(1) }),
});

/**
 * Ward areas for the geographic map: a GeoJSON FeatureCollection, one Polygon per ward of the city model.
 * Data the city edits (config/<city>/wards.geojson), validated by the dashboard at start and served by
 * GET /api/map; a city with surveyed boundaries replaces the file and sets `approximate: false`.
 */
export const wardAreasSchema = z
  .object({
    type: z.literal('FeatureCollection'),
    /** Where the outlines come from, for people reading the file. */
    note: z.string().optional(),
    features: z.array(wardAreaFeatureSchema),
  })
  .superRefine((fc, ctx) => {
    const seen = new Set<string>();
    fc.features.forEach((f, i) => {
      if (seen.has(f.properties.ward))
        ctx.addIssue({ code: 'custom', path: ['features', i, 'properties', 'ward'], message: `ward "${f.properties.ward}" has two areas` });
      seen.add(f.properties.ward);
    });
  });

export type WardAreas = z.infer<typeof wardAreasSchema>;
export type WardAreaFeature = z.infer<typeof wardAreaFeatureSchema>;

/** The basemap under the map, as the web app is told to draw it (GET /api/map). */
export const basemapAnswerSchema = z.discriminatedUnion('type', [
  /** No basemap: ward areas and devices on a plain background (works offline). */
  z.object({ type: z.literal('none') }),
  /** A MapLibre style document of the city's tile server. */
  z.object({ type: z.literal('style'), url: z.string() }),
  /** Raster XYZ tiles ({z}/{x}/{y}) of the city's tile server. */
  z.object({
    type: z.literal('tiles'),
    tiles: z.array(z.string()).min(1),
    tileSize: z.number().int(),
    maxzoom: z.number(),
    attribution: z.string(),
  }),
  /** A raster PMTiles archive served by the dashboard itself (HTTP range requests). */
  z.object({ type: z.literal('pmtiles'), url: z.string(), maxzoom: z.number(), attribution: z.string() }),
]);

const rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]);
/** One level of a layer's value: up to `max` (inclusive), drawn in `rgb`, named for the legend. */
const band = z.object({ max: z.number(), rgb, vi: z.string().min(1), en: z.string().min(1) });
const bands = z
  .array(band)
  .min(1)
  .refine((bs) => bs.every((b, i) => i === 0 || b.max > bs[i - 1]!.max), 'maxima must be strictly ascending');
export type MapLayerBand = z.infer<typeof band>;

/**
 * How the map colours each ward by a layer's value (data the city edits: config/<city>/map-layers.yaml, served
 * in GET /api/map). VN_AQI uses the levels and colours of config/limits/vn-aqi.yaml; traffic the levels of
 * congestion.yaml with a colour each here; the others their own bands.
 */
export const mapLayerLevelsSchema = z
  .object({
    /** LAeq minus the QCVN 26 limit of the meter's zone at that hour, dB. */
    noise: bands,
    /** Flood warning stage reached: 0 below the station's first alarm level, 1..3 its báo động levels. */
    water: bands,
    /** One colour per level of config/limits/congestion.yaml, in its order (checked at start). */
    traffic: z.array(rgb).min(1),
    /** Share of a ward's lamps reported failed, 0..1. */
    lighting: bands,
  })
  .strict();
export type MapLayerLevels = z.infer<typeof mapLayerLevelsSchema>;

export const mapAnswerSchema = z.object({
  basemap: basemapAnswerSchema,
  wardAreas: wardAreasSchema,
  /** Absent when the city configured none: the layers then show where devices are, not their values. */
  layers: mapLayerLevelsSchema.optional(),
});

export type BasemapAnswer = z.infer<typeof basemapAnswerSchema>;
export type MapAnswer = z.infer<typeof mapAnswerSchema>;
