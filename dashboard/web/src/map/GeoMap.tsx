import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { api } from '../api/client';
import type { MapAnswer } from '../api/types';
import { useLimits } from '../api/useLimits';
import { CityMap, SchematicMap, STATE_COLOR, type DeviceState } from '../components/CityMap';
import { useI18n } from '../i18n/i18n';
import { rgbCss } from '../lib/aqi';
import { useLocation } from '../lib/router';
import './geo-map.css';
import {
  layerColor,
  layerLegend,
  MAP_LAYERS,
  VALUE_LAYERS,
  webglAvailable,
  type LayerScales,
  type MapCity,
  type MapLayerId,
  type MapSelection,
  type MapWard,
  type ValueLayerId,
} from './layers';

export { MAP_LAYERS, type MapCity, type MapLayerId, type MapSelection, type MapWard } from './layers';

// MapLibre is a large library: it loads with the first map shown, never with views that have none.
const MapCanvas = lazy(() => import('./MapCanvas'));

const NO_MAP_DATA: MapAnswer = { basemap: { type: 'none' }, wardAreas: { type: 'FeatureCollection', features: [] } };

export interface GeoMapProps {
  city: MapCity;
  deviceState: ReadonlyMap<string, DeviceState>;
  /** Live per-ward values (the overview): VN_AQI colours the ward areas, open alarms outline them. */
  wards: readonly MapWard[];
  /** Layers offered (default: all); with `controls`, people switch them on and off. */
  layers?: readonly MapLayerId[];
  controls?: boolean;
  /** Called with the ward or device clicked; without it the map is not interactive (wall screens). */
  onSelect?: (sel: MapSelection) => void;
  /** Wall screens: dark and larger. */
  large?: boolean;
  /** Where the basemap and ward areas come from (GET, a MapAnswer); the public page may serve its own. */
  source?: string;
  /**
   * The residents' page: each ward's VN_AQI colour as its public summary carries it (no GET /api/limits), and the
   * map data fetched without the session cookie. Default: colours from the served levels, signed-in requests.
   */
  wardColor?: (ward: string) => Rgb | null;
}

type Rgb = [number, number, number];

function useMapData(source: string, anonymous: boolean): MapAnswer | null {
  const [data, setData] = useState<MapAnswer | null>(null);
  useEffect(() => {
    let cancelled = false;
    const load = anonymous
      ? fetch(source, { credentials: 'omit' }).then((res) =>
          res.ok ? (res.json() as Promise<MapAnswer>) : Promise.reject(new Error(String(res.status))),
        )
      : api.get<MapAnswer>(source);
    // Without the map data (an older server, a network error) the map still draws devices and ward names.
    load.then(
      (d) => !cancelled && setData(d),
      () => !cancelled && setData(NO_MAP_DATA),
    );
    return () => {
      cancelled = true;
    };
  }, [source, anonymous]);
  return data;
}

function GeoLegend() {
  const { t } = useI18n();
  const items: [DeviceState, string, { fill: string; stroke: string; r: number; sw: number }][] = [
    ['ok', t('legend.ok'), { fill: STATE_COLOR.ok, stroke: '#fff', r: 3, sw: 1 }],
    ['alarm', t('legend.alarm'), { fill: STATE_COLOR.alarm, stroke: '#fff', r: 4.5, sw: 1 }],
    ['stale', t('legend.stale'), { fill: 'none', stroke: STATE_COLOR.stale, r: 3, sw: 1.6 }],
    ['offline', t('legend.offline'), { fill: STATE_COLOR.offline, stroke: '#000', r: 3, sw: 1.6 }],
  ];
  return (
    <ul className="map-legend">
      {items.map(([state, label, m]) => (
        <li key={state}>
          <svg viewBox="0 0 10 10" width="1em" height="1em" aria-hidden="true">
            <circle cx={5} cy={5} r={m.r} fill={m.fill} stroke={m.stroke} strokeWidth={m.sw} />
          </svg>{' '}
          {label}
        </li>
      ))}
    </ul>
  );
}

/** The levels of the layer that fills the wards, with their colours and names as served. */
function ValueLegend({ layer, scales }: { layer: ValueLayerId; scales: LayerScales }) {
  const { t, lang } = useI18n();
  const items = layerLegend(layer, scales);
  if (!items.length) return null;
  return (
    <ul className="map-legend" aria-label={t('map.legendOf', { layer: t(`map.layer.${layer}`) })} data-testid="map-value-legend">
      {items.map((b) => (
        <li key={b.en}>
          <svg viewBox="0 0 10 10" width="1em" height="1em" aria-hidden="true">
            <rect x={1} y={1} width={8} height={8} fill={rgbCss(b.rgb)} stroke="#44505c" strokeWidth={0.6} />
          </svg>{' '}
          {b[lang]}
        </li>
      ))}
    </ul>
  );
}

/**
 * The city on a geographic map (MapLibre GL): ward areas coloured by one layer's value (VN_AQI, noise against
 * its limit, flood stage, congestion, failed lamps) on the served scales, devices at their coordinates by state,
 * layers per domain, alarms outlined, a click drills down. Where WebGL is missing (or `?map=schematic`), the schematic
 * map instead, saying why.
 */
export function GeoMap({
  city,
  deviceState,
  wards,
  layers = MAP_LAYERS,
  controls = false,
  onSelect,
  large = false,
  source = '/api/map',
  wardColor,
}: GeoMapProps) {
  const { t, num } = useI18n();
  const { search } = useLocation();
  const forced = search.get('map') === 'schematic';
  const [webgl] = useState(webglAvailable);
  const [failed, setFailed] = useState<string | null>(null);
  const mapData = useMapData(source, !!wardColor);
  const [shown, setShown] = useState<ReadonlySet<MapLayerId>>(() => new Set(layers));
  const limits = useLimits(!wardColor);
  const scales = useMemo<LayerScales>(
    () => ({ aqi: limits?.aqi.levels ?? null, congestion: limits?.congestion.levels ?? null, layers: mapData?.layers }),
    [limits, mapData],
  );
  // Which layer's value fills the ward areas (one at a time: two colour scales on one area would read as neither).
  const valueLayers = VALUE_LAYERS.filter((id) => layers.includes(id) && (id === 'air' || mapData?.layers));
  const [colourBy, setColourBy] = useState<ValueLayerId>('air');
  const fillLayer = shown.has(colourBy) ? colourBy : null;
  const byWard = useMemo(() => new Map(wards.map((w) => [w.ward, w])), [wards]);
  // Stable while the values and scales are: a new fill function would recolour (re-tile) the wards on every render.
  const wardFill = useCallback(
    (ward: string) => {
      if (!fillLayer) return null;
      const rgb = wardColor ? (fillLayer === 'air' ? wardColor(ward) : null) : layerColor(fillLayer, byWard.get(ward), scales);
      return rgb ? rgbCss(rgb) : null;
    },
    [fillLayer, wardColor, byWard, scales],
  );
  const wardName = useMemo(() => new Map(city.wards.map((w) => [w.id, w.name])), [city]);
  const wardLabel = useCallback(
    (id: string) => {
      const aqi = wards.find((w) => w.ward === id)?.aqi?.value;
      const name = wardName.get(id) ?? id;
      return shown.has('air') && aqi !== undefined ? `${name} · ${num(aqi, 0)}` : name;
    },
    [wards, wardName, shown, num],
  );
  const wardAqi = useMemo(() => new Map(wards.map((w) => [w.ward, w.aqi?.value ?? null])), [wards]);

  if (forced || !webgl || failed)
    return (
      <div className="geo-map geo-map-fallback" data-map="schematic">
        {!forced && (
          <p className="map-notice" role="status" data-testid="map-fallback">
            {failed ? t('map.failed', { message: failed }) : t('map.noWebgl')}
          </p>
        )}
        {wardColor ? (
          <SchematicMap
            city={city}
            deviceState={deviceState as Map<string, DeviceState>}
            wardAqi={wardAqi}
            colourOf={(ward) => wardColor(ward)}
            legend={false}
          />
        ) : (
          <CityMap city={city} deviceState={deviceState as Map<string, DeviceState>} wardAqi={wardAqi} large={large} />
        )}
      </div>
    );

  const approximate = mapData?.wardAreas.features.some((f) => f.properties.approximate);
  return (
    <figure className={large ? 'geo-map geo-map-large' : 'geo-map'} data-map="geo">
      {controls && (
        <fieldset className="map-layers">
          <legend>{t('map.layers')}</legend>
          {layers.map((id) => (
            <label key={id}>
              <input
                type="checkbox"
                checked={shown.has(id)}
                onChange={(e) =>
                  setShown((s) => {
                    const next = new Set(s);
                    if (e.target.checked) next.add(id);
                    else next.delete(id);
                    return next;
                  })
                }
                data-layer={id}
              />{' '}
              {t(`map.layer.${id}`)}
            </label>
          ))}
        </fieldset>
      )}
      {controls && valueLayers.length > 1 && (
        <fieldset className="map-layers" data-testid="map-colour-by">
          <legend>{t('map.colourBy')}</legend>
          {valueLayers.map((id) => (
            <label key={id}>
              <input type="radio" name="map-colour-by" value={id} checked={colourBy === id} onChange={() => setColourBy(id)} />{' '}
              {t(`map.layer.${id}`)}
            </label>
          ))}
        </fieldset>
      )}
      <Suspense fallback={<div className="geo-map-canvas" aria-busy="true" />}>
        {mapData ? (
          <MapCanvas
            city={city}
            mapData={mapData}
            layers={shown}
            deviceState={deviceState}
            wards={wards}
            wardFill={wardFill}
            wardLabel={wardLabel}
            {...(onSelect ? { onSelect } : {})}
            onError={setFailed}
            dark={large}
            label={t(onSelect ? 'map.descInteractive' : 'map.desc')}
          />
        ) : (
          <div className="geo-map-canvas" aria-busy="true" />
        )}
      </Suspense>
      {onSelect && (
        <ul className="sr-only" aria-label={t('overview.wards')}>
          {city.wards.map((w) => (
            <li key={w.id}>
              <button type="button" onClick={() => onSelect({ type: 'ward', id: w.id })}>
                {wardLabel(w.id)}
              </button>
            </li>
          ))}
        </ul>
      )}
      <figcaption>
        {fillLayer && !wardColor && <ValueLegend layer={fillLayer} scales={scales} />}
        {city.devices.length > 0 && <GeoLegend />}
        {approximate && <p className="map-note">{t('map.approximate')}</p>}
      </figcaption>
    </figure>
  );
}
