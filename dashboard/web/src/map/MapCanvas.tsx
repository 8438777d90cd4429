import { useEffect, useRef } from 'react';
import * as maplibregl from 'maplibre-gl/dist/maplibre-gl-csp.js';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-csp-worker.js?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import { Protocol } from 'pmtiles';
import type { BasemapAnswer, MapAnswer } from '../api/types';
import { STATE_COLOR, type DeviceState } from '../components/CityMap';
import {
  cityBounds,
  deviceFeatures,
  LAYER_KINDS,
  wardFeatures,
  type MapCity,
  type MapLayerId,
  type MapSelection,
  type MapWard,
} from './layers';

// The worker comes from our own origin: the Content-Security-Policy allows no blob: scripts.
maplibregl.setWorkerUrl(workerUrl);
let pmtilesProtocol = false;

/** GeoJSON as MapLibre's sources take it (our features are built as plain objects of the same shape). */
type GeoData = maplibregl.GeoJSONSourceSpecification['data'];

/** The map instance, reachable from the page's DOM (browser tests read positions through its projection). */
export type MapElement = HTMLDivElement & { maplibre?: maplibregl.Map };

export interface MapCanvasProps {
  city: MapCity;
  mapData: MapAnswer;
  layers: ReadonlySet<MapLayerId>;
  deviceState: ReadonlyMap<string, DeviceState>;
  wards: readonly MapWard[];
  /** A ward's fill (CSS colour of the chosen layer's value), null for the neutral fill. */
  wardFill(ward: string): string | null;
  /** A ward's label on the map (its name, and its VN_AQI when the air layer is on). */
  wardLabel(id: string): string;
  onSelect?: (sel: MapSelection) => void;
  /** The map failed to start (e.g. WebGL context lost or refused): the host shows the schematic instead. */
  onError(message: string): void;
  dark?: boolean;
  label: string;
}

function style(basemap: BasemapAnswer, background: string): maplibregl.StyleSpecification | string {
  const bg: maplibregl.LayerSpecification = { id: 'background', type: 'background', paint: { 'background-color': background } };
  switch (basemap.type) {
    case 'style':
      return basemap.url;
    case 'tiles':
      return {
        version: 8,
        sources: {
          basemap: {
            type: 'raster',
            tiles: basemap.tiles,
            tileSize: basemap.tileSize,
            maxzoom: basemap.maxzoom,
            attribution: basemap.attribution,
          },
        },
        layers: [bg, { id: 'basemap', type: 'raster', source: 'basemap' }],
      };
    case 'pmtiles':
      if (!pmtilesProtocol) {
        maplibregl.addProtocol('pmtiles', new Protocol().tile);
        pmtilesProtocol = true;
      }
      return {
        version: 8,
        sources: {
          basemap: {
            type: 'raster',
            url: `pmtiles://${new URL(basemap.url, location.href).href}`,
            tileSize: 256,
            maxzoom: basemap.maxzoom,
            attribution: basemap.attribution,
          },
        },
        layers: [bg, { id: 'basemap', type: 'raster', source: 'basemap' }],
      };
    default:
      return { version: 8, sources: {}, layers: [bg] };
  }
}

const stateColor: maplibregl.ExpressionSpecification = [
  'match',
  ['get', 'state'],
  'alarm',
  STATE_COLOR.alarm,
  'offline',
  STATE_COLOR.offline,
  'stale',
  STATE_COLOR.stale,
  STATE_COLOR.ok,
];

/** Kinds drawn for the layers switched on; alarms adds a halo around every device in alarm, whatever its kind. */
function deviceFilter(layers: ReadonlySet<MapLayerId>): maplibregl.FilterSpecification {
  const kinds = [...layers].flatMap((l) => LAYER_KINDS[l]);
  return ['in', ['get', 'kind'], ['literal', kinds]];
}

function addOverlay(map: maplibregl.Map, props: MapCanvasProps, hasBasemap: boolean): void {
  const { city, mapData, layers } = props;
  const neutral = props.dark ? '#2b3846' : '#c9d1d9';
  map.addSource('wards', {
    type: 'geojson',
    data: wardFeatures(mapData.wardAreas, props.wards, props.wardFill) as GeoData,
  });
  map.addSource('devices', { type: 'geojson', data: deviceFeatures(city, props.deviceState) as GeoData });
  map.addLayer({
    id: 'ward-fill',
    type: 'fill',
    source: 'wards',
    paint: { 'fill-color': ['coalesce', ['get', 'fill'], neutral], 'fill-opacity': hasBasemap ? 0.35 : 0.55 },
  });
  map.addLayer({
    id: 'ward-line',
    type: 'line',
    source: 'wards',
    paint: { 'line-color': props.dark ? '#9fb0c2' : '#44505c', 'line-width': 1.2 },
  });
  map.addLayer({
    id: 'ward-alarm',
    type: 'line',
    source: 'wards',
    filter: ['>', ['get', 'alarms'], 0],
    paint: { 'line-color': STATE_COLOR.alarm, 'line-width': 3.5, 'line-dasharray': [2, 1] },
  });
  map.addLayer({
    id: 'device-alarm-halo',
    type: 'circle',
    source: 'devices',
    filter: ['==', ['get', 'state'], 'alarm'],
    paint: {
      'circle-radius': 13,
      'circle-color': STATE_COLOR.alarm,
      'circle-opacity': 0.3,
      'circle-stroke-color': STATE_COLOR.alarm,
      'circle-stroke-width': 2,
    },
  });
  // Shape, not only colour, tells the states apart: stale is a hollow ring, alarm is larger, offline has a dark rim.
  map.addLayer({
    id: 'devices',
    type: 'circle',
    source: 'devices',
    filter: deviceFilter(layers),
    paint: {
      'circle-color': stateColor,
      'circle-opacity': ['case', ['==', ['get', 'state'], 'stale'], 0, 1],
      'circle-radius': [
        'interpolate',
        ['linear'],
        ['zoom'],
        10,
        ['case', ['==', ['get', 'state'], 'alarm'], 5, 3],
        15,
        ['case', ['==', ['get', 'state'], 'alarm'], 9, 6],
      ],
      'circle-stroke-color': ['match', ['get', 'state'], 'stale', STATE_COLOR.stale, 'offline', '#000', '#fff'],
      'circle-stroke-width': ['match', ['get', 'state'], 'stale', 2, 'offline', 2.5, 1],
    },
  });
  applyLayers(map, props);
}

function applyLayers(map: maplibregl.Map, props: MapCanvasProps): void {
  const { layers } = props;
  map.setFilter('devices', deviceFilter(layers));
  const alarms = layers.has('alarms') ? 'visible' : 'none';
  map.setLayoutProperty('ward-alarm', 'visibility', alarms);
  map.setLayoutProperty('device-alarm-halo', 'visibility', alarms);
}

function sameStates(a: ReadonlyMap<string, DeviceState>, b: ReadonlyMap<string, DeviceState>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, s] of a) if (b.get(id) !== s) return false;
  return true;
}

/** The MapLibre map itself (its own chunk: views without a map never load MapLibre). */
export default function MapCanvas(props: MapCanvasProps) {
  const container = useRef<MapElement>(null);
  const mapRef = useRef<maplibregl.Map | null>(null);
  const loaded = useRef(false);
  const latest = useRef(props);
  latest.current = props;
  const shownStates = useRef<ReadonlyMap<string, DeviceState>>(props.deviceState);
  const labels = useRef(new Map<string, { marker: maplibregl.Marker; el: HTMLElement }>());
  const { city, mapData, dark } = props;

  useEffect(() => {
    const el = container.current!;
    const hasBasemap = mapData.basemap.type !== 'none';
    let map: maplibregl.Map;
    try {
      map = new maplibregl.Map({
        container: el,
        style: style(mapData.basemap, dark ? '#0e1620' : '#e8eef3'),
        bounds: cityBounds(city, mapData.wardAreas),
        fitBoundsOptions: { padding: 24 },
        attributionControl: hasBasemap ? { compact: true } : false,
        interactive: !!latest.current.onSelect,
        // MapLibre's own labels in the page's language (its canvas is named after the map).
        locale: { 'Map.Title': latest.current.label },
        dragRotate: false,
        pitchWithRotate: false,
        touchPitch: false,
      });
    } catch (err) {
      latest.current.onError((err as Error).message);
      return;
    }
    mapRef.current = map;
    el.maplibre = map;
    map.on('load', () => {
      addOverlay(map, latest.current, hasBasemap);
      shownStates.current = latest.current.deviceState;
      loaded.current = true;
      el.dataset.ready = 'true';
    });
    const pick = (point: maplibregl.Point): MapSelection | null => {
      if (!loaded.current) return null;
      const box: [maplibregl.PointLike, maplibregl.PointLike] = [
        [point.x - 6, point.y - 6],
        [point.x + 6, point.y + 6],
      ];
      const device = map.queryRenderedFeatures(box, { layers: ['devices', 'device-alarm-halo'] })[0];
      if (device) return { type: 'device', id: String(device.properties.id), ward: String(device.properties.ward) };
      const ward = map.queryRenderedFeatures(point, { layers: ['ward-fill'] })[0];
      return ward ? { type: 'ward', id: String(ward.properties.ward) } : null;
    };
    map.on('click', (e) => {
      const sel = pick(e.point);
      if (sel) latest.current.onSelect?.(sel);
    });
    map.on('mousemove', (e) => {
      map.getCanvas().style.cursor = latest.current.onSelect && pick(e.point) ? 'pointer' : '';
    });
    const markers = labels.current;
    return () => {
      loaded.current = false;
      markers.forEach((m) => m.marker.remove());
      markers.clear();
      delete el.maplibre;
      delete el.dataset.ready;
      map.remove();
      mapRef.current = null;
    };
  }, [city, mapData, dark]);

  // Live values: device states (only when one changed: the hook recomputes every second), ward colours and alarms.
  useEffect(() => {
    const map = mapRef.current;
    if (!map || !loaded.current || sameStates(shownStates.current, props.deviceState)) return;
    shownStates.current = props.deviceState;
    (map.getSource('devices') as maplibregl.GeoJSONSource).setData(deviceFeatures(city, props.deviceState) as GeoData);
  });
  const { wards, wardFill, layers, wardLabel } = props;
  useEffect(() => {
    const map = mapRef.current;
    if (!map) return;
    const update = () => {
      (map.getSource('wards') as maplibregl.GeoJSONSource | undefined)?.setData(
        wardFeatures(mapData.wardAreas, wards, wardFill) as GeoData,
      );
      applyLayers(map, latest.current);
      // Ward names (and VN_AQI with the air layer) as HTML labels: the plain background has no font server.
      for (const w of city.wards) {
        let label = labels.current.get(w.id);
        if (!label) {
          const el = document.createElement('div');
          el.className = 'map-ward-label';
          el.dataset.ward = w.id;
          // Visual only (the ward list beside or under the map says the same to a screen reader); set before
          // addTo so MapLibre does not make it a "Map marker" button.
          el.setAttribute('aria-hidden', 'true');
          el.setAttribute('role', 'presentation');
          el.setAttribute('aria-label', w.name);
          label = { el, marker: new maplibregl.Marker({ element: el }).setLngLat([w.lon, w.lat]).addTo(map) };
          labels.current.set(w.id, label);
        }
        label.el.textContent = wardLabel(w.id);
      }
    };
    if (loaded.current) update();
    else map.once('load', update);
  }, [wards, wardFill, layers, wardLabel, city, mapData]);

  // MapLibre names its canvas with the label (locale Map.Title above).
  return <div ref={container} className="geo-map-canvas" />;
}
