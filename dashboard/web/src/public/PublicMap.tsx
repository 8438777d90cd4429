import { useCallback, useMemo } from 'react';
import type { PublicSummary } from '../../../../protocol/src/public';
import { GeoMap, type MapCity, type MapWard } from '../map/GeoMap';
import { hexRgb } from './WardSummary';

const NO_DEVICES = new Map();
const AIR = ['air'] as const;

/**
 * The public wards on the geographic map (the operators' GeoMap: MapLibre, schematic where WebGL is missing),
 * coloured by the VN_AQI colour the summary carries; the basemap and ward outlines come from GET
 * /api/public/map. No devices are public. Loaded lazily, and MapLibre after it.
 */
export default function PublicMap({ summary }: { summary: PublicSummary }) {
  // Rebuilt only when the wards themselves change: a new city object would recreate the map on every refresh.
  const wardsKey = summary.wards.map((w) => `${w.id}:${w.lat}:${w.lon}`).join('|');
  const city = useMemo<MapCity>(() => {
    const wards = summary.wards.map(({ id, name, lat, lon, map }) => ({ id, name, lat, lon, map }));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
    return { lat: mean(wards.map((w) => w.lat)), lon: mean(wards.map((w) => w.lon)), wards, devices: [] };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [wardsKey]);
  const wards = useMemo<MapWard[]>(
    () => summary.wards.map((w) => ({ ward: w.id, aqi: w.aqi?.value !== undefined ? { value: w.aqi.value } : null })),
    [summary],
  );
  const colours = useMemo(
    () => new Map(summary.wards.flatMap((w) => (w.aqi?.color ? [[w.id, hexRgb(w.aqi.color)] as const] : []))),
    [summary],
  );
  const wardColor = useCallback((ward: string) => colours.get(ward) ?? null, [colours]);
  return <GeoMap city={city} deviceState={NO_DEVICES} wards={wards} layers={AIR} source="/api/public/map" wardColor={wardColor} />;
}
