import type { Role } from '../api/types';

/** An account as GET /api/users answers it (never a password hash). */
export interface AdminUser {
  username: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
  /** Wards the account is limited to; empty: the whole city. */
  wards: string[];
  lastLogin: number | null;
}

export interface RuleSetView {
  version: number;
  rules: unknown[];
  updatedBy: string | null;
  updatedAt: number | null;
}

export const MIN_PASSWORD_LENGTH = 12;
export const ROLES: Role[] = ['viewer', 'operator', 'technician', 'admin'];
