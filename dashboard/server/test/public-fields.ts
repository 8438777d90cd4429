import { PUBLIC_FIELDS, type PublicKind, type StoredReading } from '@tamky/protocol';

/** Every leaf of a JSON value as a path with array positions folded: "wards[].aqi.name.vi" (a null counts as a leaf). */
export function leafPaths(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => leafPaths(v, `${at}[]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => {
      const path = at ? `${at}.${k}` : k;
      return v === null ? [path] : leafPaths(v, path);
    });
  return [at];
}

/** What a `public.show` config lets leave: each ward's identity and position, plus each shown kind's listed fields. */
export function allowedPaths(show: Partial<Record<PublicKind, readonly string[]>>): Set<string> {
  const allowed = new Set(['ts', 'city', 'wards[].id', 'wards[].name', 'wards[].map.x', 'wards[].map.y', 'wards[].lat', 'wards[].lon']);
  for (const [kind, listed] of Object.entries(show) as Array<[PublicKind, readonly string[]]>) {
    allowed.add(`wards[].${kind}`); // null: a public kind the ward has no reading of
    for (const f of listed.length ? listed : PUBLIC_FIELDS[kind]) {
      if (f === 'name' || f === 'advice') for (const lang of ['vi', 'en']) allowed.add(`wards[].${kind}.${f}.${lang}`);
      else allowed.add(`wards[].${kind}.${f}`);
    }
  }
  return allowed;
}

/** What GET /api/public/map may send: the basemap's description and the ward outlines (geometry, ward id, approximate). */
export const PUBLIC_MAP_PATHS = new Set([
  'basemap.type',
  'basemap.url',
  'basemap.tiles[]',
  'basemap.tileSize',
  'basemap.maxzoom',
  'basemap.attribution',
  'wardAreas.type',
  'wardAreas.note',
  'wardAreas.features[].type',
  'wardAreas.features[].properties.ward',
  'wardAreas.features[].properties.approximate',
  'wardAreas.features[].geometry.type',
  'wardAreas.features[].geometry.coordinates[][][]',
]);

/** Readings at `ts` for the public tests: a bad-air and a loud ward (an-my), a quiet one at flood level 2 (an-phu). */
export function publicReadings(ts: number): StoredReading[] {
  const r = (kind: string, device: string, ward: string, values: Record<string, number>): StoredReading => ({
    kind,
    device,
    gateway: `gw-${ward}`,
    ward,
    ts,
    seq: 1,
    values,
  });
  return [
    r('vn_aqi', 'an-my-air-1', 'an-my', { aqi: 162 }),
    r('air_station', 'an-my-air-1', 'an-my', { pm25: 80, pm10: 120, humidity: 80, temperature: 31 }),
    r('noise_meter', 'an-my-noise-1', 'an-my', { laeq: 74 }),
    r('noise_meter', 'an-phu-noise-1', 'an-phu', { laeq: 52 }),
    r('water_level', 'an-phu-water-1', 'an-phu', { level: 3.2, distance: 2.8 }),
  ];
}
