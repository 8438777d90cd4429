import type { Unit } from './units';

/**
 * Device kinds and the fields each reports, with the unit and plausible physical range of each field.
 * Ingest rejects (dead-letters) values outside the range or in another unit; the dashboard labels charts
 * from the same table.
 */
export interface FieldSpec {
  unit: Unit;
  min: number;
  max: number;
  label: { vi: string; en: string };
}

/** Hourly values ingest derives from device readings (VN_AQI, LAeq per hour, congestion, lighting energy). */
export const DERIVED_KINDS = ['vn_aqi', 'noise_hourly', 'congestion', 'lighting_energy'] as const;
export type DerivedKind = (typeof DERIVED_KINDS)[number];

/** Derived readings carry this seq: they were not read at the edge, so they take no gateway sequence number. */
export const DERIVED_SEQ = -1;

export const DEVICE_KINDS = ['air_station', 'pm_sensor', 'noise_meter', 'water_level', 'street_light', 'traffic_counter'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

const f = (unit: Unit, min: number, max: number, vi: string, en: string): FieldSpec => ({ unit, min, max, label: { vi, en } });

const lampFields: Record<string, FieldSpec> = {};
for (let lamp = 1; lamp <= 8; lamp++) {
  lampFields[`lamp${lamp}_level`] = f('pct', 0, 100, `Đèn ${lamp} mức sáng`, `Lamp ${lamp} level`);
  lampFields[`lamp${lamp}_status`] = f('bits', 0, 255, `Đèn ${lamp} trạng thái`, `Lamp ${lamp} status`);
}

const laneFields: Record<string, FieldSpec> = {};
for (let lane = 1; lane <= 4; lane++) {
  laneFields[`lane${lane}_motorbike`] = f('count', 0, 10_000, `Làn ${lane} xe máy`, `Lane ${lane} motorbikes`);
  laneFields[`lane${lane}_car`] = f('count', 0, 10_000, `Làn ${lane} ô tô`, `Lane ${lane} cars`);
  laneFields[`lane${lane}_bus`] = f('count', 0, 10_000, `Làn ${lane} xe buýt`, `Lane ${lane} buses`);
  laneFields[`lane${lane}_truck`] = f('count', 0, 10_000, `Làn ${lane} xe tải`, `Lane ${lane} trucks`);
  laneFields[`lane${lane}_speed`] = f('km/h', 0, 250, `Làn ${lane} tốc độ TB`, `Lane ${lane} average speed`);
  laneFields[`lane${lane}_occupancy`] = f('pct', 0, 100, `Làn ${lane} độ chiếm dụng`, `Lane ${lane} occupancy`);
}

export const KIND_FIELDS: Record<DeviceKind, Record<string, FieldSpec>> = {
  air_station: {
    so2: f('ug/m3', 0, 5000, 'SO₂', 'SO₂'),
    no2: f('ug/m3', 0, 5000, 'NO₂', 'NO₂'),
    co: f('ug/m3', 0, 200_000, 'CO', 'CO'),
    o3: f('ug/m3', 0, 2000, 'O₃', 'O₃'),
    pm25: f('ug/m3', 0, 1000, 'Bụi PM2.5', 'PM2.5'),
    pm10: f('ug/m3', 0, 1500, 'Bụi PM10', 'PM10'),
    temperature: f('degC', -40, 80, 'Nhiệt độ', 'Temperature'),
    humidity: f('pct', 0, 100, 'Độ ẩm', 'Humidity'),
  },
  pm_sensor: {
    pm25: f('ug/m3', 0, 1000, 'Bụi PM2.5', 'PM2.5'),
    pm10: f('ug/m3', 0, 1500, 'Bụi PM10', 'PM10'),
  },
  noise_meter: {
    laeq: f('dBA', 20, 140, 'Độ ồn', 'Sound level'),
  },
  water_level: {
    level: f('m', -5, 20, 'Mực nước', 'Water level'),
    distance: f('m', 0, 20, 'Khoảng cách đo', 'Measured distance'),
  },
  street_light: {
    ...lampFields,
    power: f('W', 0, 100_000, 'Công suất', 'Power'),
    energy: f('kWh', 0, 10_000_000, 'Điện năng', 'Energy'),
    voltage: f('V', 0, 500, 'Điện áp', 'Voltage'),
    current: f('A', 0, 500, 'Dòng điện', 'Current'),
    power_factor: f('ratio', 0, 1, 'Hệ số công suất', 'Power factor'),
  },
  traffic_counter: {
    ...laneFields,
    interval: f('s', 1, 3600, 'Chu kỳ đếm', 'Count interval'),
  },
};

export function isDeviceKind(kind: string): kind is DeviceKind {
  return (DEVICE_KINDS as readonly string[]).includes(kind);
}
