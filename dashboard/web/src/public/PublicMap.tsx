import { SchematicMap } from '../components/CityMap';
import type { PublicSummary } from '../../../../protocol/src/public';
import { hexRgb } from './WardSummary';

const NO_DEVICES = new Map();

/** The public wards on the schematic map, coloured by the VN_AQI colour the summary carries (no devices are public). Loaded lazily. */
export default function PublicMap({ summary }: { summary: PublicSummary }) {
  const colours = new Map(summary.wards.flatMap((w) => (w.aqi?.color ? [[w.id, hexRgb(w.aqi.color)] as const] : [])));
  const wardAqi = new Map(summary.wards.map((w) => [w.id, w.aqi?.value ?? null]));
  return (
    <SchematicMap
      city={{ wards: summary.wards, devices: [] }}
      deviceState={NO_DEVICES}
      wardAqi={wardAqi}
      colourOf={(ward) => colours.get(ward) ?? null}
      legend={false}
    />
  );
}
