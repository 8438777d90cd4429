import type { Role } from '../api/types';
import { atLeast } from '../lib/roles';
import type { MapSelection } from './layers';

/** Where a click on the map leads: a device's page for technicians, else the ward's environment view. */
export function drillDownPath(sel: MapSelection, role: Role): string {
  if (sel.type === 'device' && atLeast(role, 'technician')) return `/devices/${encodeURIComponent(sel.id)}`;
  return `/environment?ward=${encodeURIComponent(sel.type === 'ward' ? sel.id : sel.ward)}`;
}
