/**
 * Units travel with every value so that a misconfigured profile (mm where m is expected) is caught at
 * ingest instead of silently stored. Codes are ASCII so they survive every transport and tag.
 */
export const UNITS = {
  'ug/m3': { label: 'µg/m³', ucum: 'ug/m3', cefact: 'GQ' },
  'mg/m3': { label: 'mg/m³', ucum: 'mg/m3', cefact: 'GP' },
  dBA: { label: 'dB(A)', ucum: 'dB', cefact: '2N' },
  m: { label: 'm', ucum: 'm', cefact: 'MTR' },
  mm: { label: 'mm', ucum: 'mm', cefact: 'MMT' },
  degC: { label: '°C', ucum: 'Cel', cefact: 'CEL' },
  pct: { label: '%', ucum: '%', cefact: 'P1' },
  W: { label: 'W', ucum: 'W', cefact: 'WTT' },
  kW: { label: 'kW', ucum: 'kW', cefact: 'KWT' },
  kWh: { label: 'kWh', ucum: 'kW.h', cefact: 'KWH' },
  V: { label: 'V', ucum: 'V', cefact: 'VLT' },
  A: { label: 'A', ucum: 'A', cefact: 'AMP' },
  'km/h': { label: 'km/h', ucum: 'km/h', cefact: 'KMH' },
  count: { label: '', ucum: '1', cefact: 'C62' },
  ratio: { label: '', ucum: '1', cefact: 'C62' },
  bits: { label: '', ucum: '1', cefact: 'C62' },
  aqi: { label: 'AQI', ucum: '1', cefact: 'C62' },
  s: { label: 's', ucum: 's', cefact: 'SEC' },
} as const;

export type Unit = keyof typeof UNITS;
export const UNIT_CODES = Object.keys(UNITS) as [Unit, ...Unit[]];
