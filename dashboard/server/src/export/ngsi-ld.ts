import { KIND_FIELDS, UNITS, isDeviceKind, type CityModel, type Device, type StoredReading, type Unit } from '@tamky/protocol';

/**
 * The current state as NGSI-LD (normalized) entities named after FIWARE Smart Data Models, so a provincial
 * IOC or any FIWARE component can consume it. One entity per device; street lights add one Streetlight per
 * luminaire next to their StreetlightControlCabinet, traffic counters one TrafficFlowObserved per lane.
 */
export const NGSI_LD_CONTEXT = [
  'https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld',
  'https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld',
  'https://raw.githubusercontent.com/smart-data-models/dataModel.Streetlighting/master/context.jsonld',
  'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld',
];

type Entity = Record<string, unknown>;
const urn = (type: string, id: string) => `urn:ngsi-ld:${type}:${id}`;
const dateTime = (ts: number) => ({ type: 'Property', value: { '@type': 'DateTime', '@value': new Date(ts).toISOString() } });
const prop = (value: unknown, unit?: Unit, ts?: number) => ({
  type: 'Property',
  value,
  ...(unit ? { unitCode: UNITS[unit].cefact } : {}),
  ...(ts ? { observedAt: new Date(ts).toISOString() } : {}),
});
const location = (d: Device) => ({ type: 'GeoProperty', value: { type: 'Point', coordinates: [d.lon, d.lat] } });
const refDevice = (d: Device) => ({ type: 'Relationship', object: urn('Device', d.id) });
// The Streetlighting models take refDevice (and a cabinet's groups) as lists of entity ids.
const refList = (type: string, id: string) => ({ type: 'Relationship', object: [urn(type, id)] });
const unitOf = (d: Device, field: string): Unit | undefined => (isDeviceKind(d.kind) ? KIND_FIELDS[d.kind][field]?.unit : undefined);

function base(type: string, id: string, d: Device, ts: number): Entity {
  return {
    id: urn(type, id),
    type,
    '@context': NGSI_LD_CONTEXT,
    location: location(d),
    refDevice: refDevice(d),
    areaServed: prop(d.ward),
    name: prop(d.name),
    dateObserved: dateTime(ts),
  };
}

const AIR_FIELDS: Record<string, string> = {
  so2: 'so2',
  no2: 'no2',
  co: 'co',
  o3: 'o3',
  pm25: 'pm25',
  pm10: 'pm10',
  temperature: 'temperature',
};
const LAMP_STATUS = (bits: number) => (bits & 0b1 ? 'columnIssue' : bits & 0b10 ? 'defectiveLamp' : 'ok');

export function toNgsiLd(city: CityModel, latest: StoredReading[], aqiLevel: (v: number) => string): Entity[] {
  const devices = new Map(city.devices.map((d) => [d.id, d]));
  const aqiByDevice = new Map<string, StoredReading>();
  for (const r of latest) if (r.kind === 'vn_aqi') aqiByDevice.set(r.device, r);
  const out: Entity[] = [];
  for (const r of latest) {
    const d = devices.get(r.device);
    if (!d || r.kind !== d.kind) continue;
    const v = r.values;
    switch (d.kind) {
      case 'air_station':
      case 'pm_sensor': {
        const e = base('AirQualityObserved', d.id, d, r.ts);
        for (const [field, name] of Object.entries(AIR_FIELDS)) if (v[field] !== undefined) e[name] = prop(v[field], unitOf(d, field));
        if (v.humidity !== undefined) e.relativeHumidity = prop(v.humidity / 100);
        const aqi = aqiByDevice.get(d.id);
        const aqiValue = aqi ? (aqi.values.aqi ?? aqi.values.vn_aqi ?? Object.values(aqi.values)[0]) : undefined;
        if (aqiValue !== undefined) {
          e.airQualityIndex = prop(Math.round(aqiValue), undefined, aqi!.ts);
          e.airQualityLevel = prop(aqiLevel(aqiValue), undefined, aqi!.ts);
        }
        out.push(e);
        break;
      }
      case 'noise_meter': {
        const e = base('NoiseLevelObserved', d.id, d, r.ts);
        delete e.dateObserved;
        e.dateObservedFrom = dateTime(r.ts - d.pollIntervalMs);
        e.dateObservedTo = dateTime(r.ts);
        if (v.laeq !== undefined) e.LAeq = prop(v.laeq, 'dBA');
        out.push(e);
        break;
      }
      case 'water_level': {
        const e = base('WaterObserved', d.id, d, r.ts);
        if (v.level !== undefined) e.waterLevel = prop(v.level, 'm');
        out.push(e);
        if (d.alarmLevels && v.level !== undefined) {
          const f = base('FloodMonitoring', d.id, d, r.ts);
          f.currentLevel = prop(v.level, 'm');
          f.alertLevel = prop(d.alarmLevels[0], 'm');
          f.dangerLevel = prop(d.alarmLevels[2], 'm');
          f.floodLevelStatus = prop(v.level >= d.alarmLevels[2] ? 'flood' : v.level >= d.alarmLevels[0] ? 'alert' : 'normal');
          if (v.distance !== undefined) f.measuredDistance = prop(v.distance, 'm');
          out.push(f);
        }
        break;
      }
      case 'street_light': {
        const cabinet = base('StreetlightControlCabinet', d.id, d, r.ts);
        cabinet.refDevice = refList('Device', d.id);
        cabinet.refStreetlightGroup = refList('StreetlightGroup', d.id);
        // Switched by schedule, and operators may dim or switch from the dashboard.
        cabinet.workingMode = prop('semiautomatic');
        if (v.energy !== undefined) cabinet.energyConsumed = prop(v.energy, 'kWh');
        if (v.power !== undefined) cabinet.totalActivePower = prop(v.power / 1000, 'kW');
        out.push(cabinet);
        const lamps = d.lamps ?? 0;
        for (let i = 1; i <= lamps; i++) {
          const level = v[`lamp${i}_level`];
          const status = v[`lamp${i}_status`];
          if (level === undefined && status === undefined) continue;
          const e = base('Streetlight', `${d.id}-lamp${i}`, d, r.ts);
          e.refDevice = refList('Device', d.id);
          e.status = prop(LAMP_STATUS(status ?? 0));
          if (level !== undefined) {
            e.powerState = prop(level <= 0 ? 'off' : level < 100 ? 'low' : 'on');
            e.illuminanceLevel = prop(level / 100);
          }
          e.refStreetlightControlCabinet = { type: 'Relationship', object: urn('StreetlightControlCabinet', d.id) };
          out.push(e);
        }
        break;
      }
      case 'traffic_counter': {
        const lanes = d.lanes ?? 1;
        for (let lane = 1; lane <= lanes; lane++) {
          const counts = ['motorbike', 'car', 'bus', 'truck'].map((c) => v[`lane${lane}_${c}`]);
          if (counts.every((c) => c === undefined)) continue;
          const e = base('TrafficFlowObserved', `${d.id}-lane${lane}`, d, r.ts);
          const interval = v.interval ?? d.pollIntervalMs / 1000;
          e.dateObservedFrom = dateTime(r.ts - interval * 1000);
          e.dateObservedTo = dateTime(r.ts);
          e.laneId = prop(lane);
          e.intensity = prop(counts.reduce<number>((a, c) => a + (c ?? 0), 0));
          const occ = v[`lane${lane}_occupancy`];
          if (occ !== undefined) e.occupancy = prop(occ / 100);
          const speed = v[`lane${lane}_speed`];
          if (speed !== undefined) e.averageVehicleSpeed = prop(speed, 'km/h');
          out.push(e);
        }
        break;
      }
    }
  }
  return out;
}
