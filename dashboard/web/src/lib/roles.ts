import type { Role } from '../api/types';
import type { MessageKey } from '../i18n/dict';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, technician: 2, admin: 3 };

export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

export interface NavItem {
  path: string;
  label: MessageKey;
  /** Lowest role that sees this view. */
  role: Role;
}

/** Each role sees only what it may use: operators get alarms, technicians gateways and data quality. */
export const NAV: NavItem[] = [
  { path: '/', label: 'nav.overview', role: 'viewer' },
  { path: '/environment', label: 'nav.environment', role: 'viewer' },
  { path: '/traffic', label: 'nav.traffic', role: 'viewer' },
  { path: '/lighting', label: 'nav.lighting', role: 'viewer' },
  { path: '/reports', label: 'nav.reports', role: 'viewer' },
  { path: '/alarms', label: 'nav.alarms', role: 'operator' },
  { path: '/gateways', label: 'nav.gateways', role: 'technician' },
  { path: '/data-quality', label: 'nav.dataQuality', role: 'technician' },
  { path: '/admin', label: 'nav.admin', role: 'admin' },
  { path: '/rules', label: 'nav.rules', role: 'admin' },
  { path: '/admin/recipients', label: 'nav.recipients', role: 'admin' },
  { path: '/admin/devices', label: 'nav.registry', role: 'admin' },
  { path: '/admin/audit', label: 'nav.audit', role: 'admin' },
  { path: '/admin/alarm-health', label: 'nav.alarmHealth', role: 'admin' },
  { path: '/admin/messages', label: 'nav.messages', role: 'admin' },
  { path: '/wall', label: 'nav.wall', role: 'viewer' },
];

export function navFor(role: Role): NavItem[] {
  return NAV.filter((item) => atLeast(role, item.role));
}

/** Role needed for a path (device pages belong to the technicians' gateway views). */
export function roleForPath(path: string): Role {
  if (path.startsWith('/devices/')) return 'technician';
  if (path.startsWith('/alarms')) return 'operator';
  if (path.startsWith('/admin')) return 'admin';
  return NAV.find((n) => n.path === path)?.role ?? 'viewer';
}
