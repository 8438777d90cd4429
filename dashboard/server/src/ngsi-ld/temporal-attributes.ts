import type { Unit } from '@tamky/protocol';

/**
 * Which stored field an NGSI-LD attribute's history comes from, per Smart Data Models type: the temporal
 * API reads these from the store. `part` is the lamp or lane an entity stands for (entity ids
 * `…:{device}-lamp{n}` and `…:{device}-lane{n}`); `scale` turns our unit into the model's (percent → 0–1).
 */
export interface TemporalAttribute {
  kind: string;
  /** Stored fields summed into the attribute ({n} = the lamp or lane number). */
  fields: string[];
  scale?: number;
  unit?: Unit;
}

const LANE_COUNTS = ['motorbike', 'car', 'bus', 'truck'].map((c) => `lane{n}_${c}`);

export const TEMPORAL_ATTRIBUTES: Record<string, Record<string, TemporalAttribute>> = {
  AirQualityObserved: {
    pm25: { kind: 'air_station', fields: ['pm25'], unit: 'ug/m3' },
    pm10: { kind: 'air_station', fields: ['pm10'], unit: 'ug/m3' },
    no2: { kind: 'air_station', fields: ['no2'], unit: 'ug/m3' },
    so2: { kind: 'air_station', fields: ['so2'], unit: 'ug/m3' },
    o3: { kind: 'air_station', fields: ['o3'], unit: 'ug/m3' },
    co: { kind: 'air_station', fields: ['co'], unit: 'ug/m3' },
    temperature: { kind: 'air_station', fields: ['temperature'] },
    relativeHumidity: { kind: 'air_station', fields: ['humidity'], scale: 0.01 },
    airQualityIndex: { kind: 'vn_aqi', fields: ['aqi'] },
  },
  NoiseLevelObserved: { LAeq: { kind: 'noise_meter', fields: ['laeq'], unit: 'dBA' } },
  WaterObserved: { waterLevel: { kind: 'water_level', fields: ['level'], unit: 'm' } },
  FloodMonitoring: {
    currentLevel: { kind: 'water_level', fields: ['level'], unit: 'm' },
    measuredDistance: { kind: 'water_level', fields: ['distance'], unit: 'm' },
  },
  StreetlightControlCabinet: {
    energyConsumed: { kind: 'street_light', fields: ['energy'], unit: 'kWh' },
    totalActivePower: { kind: 'street_light', fields: ['power'], scale: 0.001, unit: 'kW' },
  },
  Streetlight: { illuminanceLevel: { kind: 'street_light', fields: ['lamp{n}_level'], scale: 0.01 } },
  TrafficFlowObserved: {
    intensity: { kind: 'traffic_counter', fields: LANE_COUNTS },
    occupancy: { kind: 'traffic_counter', fields: ['lane{n}_occupancy'], scale: 0.01 },
    averageVehicleSpeed: { kind: 'traffic_counter', fields: ['lane{n}_speed'], unit: 'km/h' },
  },
};
