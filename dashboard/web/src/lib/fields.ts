// Deep relative imports on purpose: these two protocol modules are plain data, while the package entry
// also builds zod schemas that would add ~60 kB to the browser bundle.
import { KIND_FIELDS, type FieldSpec } from '../../../../protocol/src/kinds';
import { UNITS, type Unit } from '../../../../protocol/src/units';
import type { Lang } from '../i18n/i18n';

export function fieldSpec(kind: string, field: string): FieldSpec | undefined {
  return (KIND_FIELDS as Record<string, Record<string, FieldSpec>>)[kind]?.[field];
}
export function fieldLabel(kind: string, field: string, lang: Lang): string {
  return fieldSpec(kind, field)?.label[lang] ?? field;
}
export function unitLabel(unit: Unit | string | undefined): string {
  return unit && unit in UNITS ? UNITS[unit as Unit].label : (unit ?? '');
}
export function fieldUnit(kind: string, field: string): string {
  return unitLabel(fieldSpec(kind, field)?.unit);
}

/** The fields a device page charts first, per kind. */
export const PRIMARY_FIELDS: Record<string, string[]> = {
  air_station: ['pm25', 'pm10'],
  pm_sensor: ['pm25', 'pm10'],
  noise_meter: ['laeq'],
  water_level: ['level'],
  street_light: ['power'],
  traffic_counter: ['lane1_motorbike', 'lane1_car'],
};
