import { useMemo } from 'react';
import { useI18n } from '../i18n/i18n';
import { useAqiBand } from '../api/useLimits';
import { rgbCss, textOn } from '../lib/aqi';
import { devicePositions, type SchematicCity } from '../lib/city';
import { placeLabels } from '../lib/labels';

export type DeviceState = 'ok' | 'alarm' | 'stale' | 'offline';
export const STATE_COLOR: Record<DeviceState, string> = { ok: '#2e9d4a', alarm: '#e0301e', stale: '#8a8f98', offline: '#5b2a86' };

function Marker({ x, y, state, r }: { x: number; y: number; state: DeviceState; r: number }) {
  const fill = STATE_COLOR[state];
  switch (state) {
    case 'alarm':
      return (
        <polygon
          points={`${x},${y - r * 1.3} ${x + r * 1.2},${y + r} ${x - r * 1.2},${y + r}`}
          fill={fill}
          stroke="#fff"
          strokeWidth={r * 0.25}
        />
      );
    case 'stale':
      return <circle cx={x} cy={y} r={r} fill="none" stroke={fill} strokeWidth={r * 0.45} strokeDasharray={`${r * 0.6} ${r * 0.4}`} />;
    case 'offline':
      return (
        <g stroke={fill} strokeWidth={r * 0.5}>
          <line x1={x - r} y1={y - r} x2={x + r} y2={y + r} />
          <line x1={x - r} y1={y + r} x2={x + r} y2={y - r} />
        </g>
      );
    default:
      return <circle cx={x} cy={y} r={r} fill={fill} stroke="#fff" strokeWidth={r * 0.25} />;
  }
}

export function MapLegend() {
  const { t } = useI18n();
  const items: [DeviceState, string][] = [
    ['ok', t('legend.ok')],
    ['alarm', t('legend.alarm')],
    ['stale', t('legend.stale')],
    ['offline', t('legend.offline')],
  ];
  return (
    <ul className="map-legend">
      {items.map(([state, label]) => (
        <li key={state}>
          <svg viewBox="0 0 10 10" width="1em" height="1em" aria-hidden="true">
            <Marker x={5} y={5} r={3.2} state={state} />
          </svg>{' '}
          {label}
        </li>
      ))}
    </ul>
  );
}

type Rgb = [number, number, number];

/** Schematic (tile-free) map: wards at city.wards[].map, coloured by AQI, devices as state markers. */
export function CityMap(props: {
  city: SchematicCity;
  deviceState: Map<string, DeviceState>;
  wardAqi: Map<string, number | null>;
  large?: boolean;
}) {
  const aqiBandOf = useAqiBand();
  return <SchematicMap {...props} colourOf={(_ward, aqi) => aqiBandOf(aqi)?.rgb ?? null} legend />;
}

/**
 * The schematic itself, coloured by `colourOf` (the signed-in app: the served VN_AQI scale; the public page:
 * the colour its summary carries), so the residents' page draws the same map without /api/limits.
 */
export function SchematicMap({
  city,
  deviceState,
  wardAqi,
  colourOf,
  legend,
  large = false,
}: {
  city: SchematicCity;
  deviceState: Map<string, DeviceState>;
  wardAqi: Map<string, number | null>;
  colourOf: (ward: string, aqi: number) => Rgb | null;
  legend: boolean;
  large?: boolean;
}) {
  const { t, num } = useI18n();
  const positions = useMemo(() => devicePositions(city, 3.3), [city]);
  const r = 0.75;
  const fontSize = large ? 2.1 : 1.9;
  const labels = useMemo(
    () =>
      placeLabels(
        city.wards.map((w) => ({ id: w.id, x: w.map.x, y: w.map.y, text: w.name })),
        fontSize,
        4.1,
      ),
    [city, fontSize],
  );
  // Fit the view to the wards (plus room for markers and labels) so central wards get as much space as possible.
  const box = useMemo(() => {
    const xs = city.wards.map((w) => w.map.x);
    const ys = city.wards.map((w) => w.map.y);
    const x0 = Math.min(...xs) - 7;
    const y0 = Math.min(...ys) - 6;
    return `${x0} ${y0} ${Math.max(...xs) + 7 - x0} ${Math.max(...ys) + 9 - y0}`;
  }, [city]);
  return (
    <figure className="city-map">
      <svg viewBox={box} role="img" aria-labelledby="map-title map-desc" preserveAspectRatio="xMidYMid meet">
        <title id="map-title">{t('overview.map')}</title>
        <desc id="map-desc">{t('overview.mapDesc')}</desc>
        {city.wards.map((w) => {
          const aqi = wardAqi.get(w.id);
          const rgb = aqi === null || aqi === undefined ? null : colourOf(w.id, aqi);
          const fill = rgb ? rgbCss(rgb) : '#9aa3ad';
          return (
            <g key={w.id} data-ward={w.id}>
              <circle cx={w.map.x} cy={w.map.y} r={2.3} fill={fill} stroke="#222" strokeWidth={0.25} />
              <text x={w.map.x} y={w.map.y + 0.75} textAnchor="middle" fontSize={1.9} fontWeight={700} fill={rgb ? textOn(rgb) : '#000'}>
                {aqi === null || aqi === undefined ? '—' : num(aqi, 0)}
              </text>
              <text
                x={labels.get(w.id)?.x}
                y={labels.get(w.id)?.y}
                textAnchor={labels.get(w.id)?.anchor}
                fontSize={fontSize}
                className="map-label"
              >
                {w.name}
              </text>
            </g>
          );
        })}
        {city.devices.map((d) => {
          const p = positions.get(d.id);
          if (!p) return null;
          const state = deviceState.get(d.id) ?? 'stale';
          return (
            <g key={d.id} data-device={d.id} data-state={state}>
              <Marker x={p.x} y={p.y} r={r} state={state} />
            </g>
          );
        })}
      </svg>
      {legend && (
        <figcaption>
          <MapLegend />
        </figcaption>
      )}
    </figure>
  );
}
