import { ApiError } from '../api/client';
import type { Role } from '../api/types';

/** An account as GET /api/users answers it (never a password hash). */
export interface AdminUser {
  username: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
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

/**
 * PATCH/PUT for the admin screens (the shared client only has GET/POST). Sends the session's CSRF token
 * and turns `{error, message}` answers into ApiError like the shared client does.
 */
export async function adminRequest<T>(csrfToken: string, method: 'POST' | 'PUT' | 'PATCH', path: string, body: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': csrfToken },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data ?? {}) as { error?: string; message?: string };
    throw new ApiError(res.status, err.error ?? `http_${res.status}`, err.message ?? res.statusText);
  }
  return data as T;
}
