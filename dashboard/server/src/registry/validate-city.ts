import { cityModelSchema, type CityModel } from '@tamky/protocol';
import type { FieldIssue } from '../http/errors';

export type CityValidation = { ok: true; city: CityModel } | { ok: false; issues: FieldIssue[] };

/**
 * The protocol's schema (which already checks a device's ward and gateway exist and device ids are unique)
 * plus what it leaves out and an edited registry must not get wrong: unique ward and gateway ids.
 */
export function validateCity(input: unknown): CityValidation {
  const parsed = cityModelSchema.safeParse(input);
  const issues: FieldIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.join('.') || 'city', message: i.message }));
  const raw = (input ?? {}) as { wards?: unknown; gateways?: unknown };
  for (const key of ['wards', 'gateways'] as const) {
    const list = raw[key];
    if (!Array.isArray(list)) continue;
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const id = (item as { id?: unknown } | null)?.id;
      if (typeof id !== 'string') return;
      if (seen.has(id)) issues.push({ path: `${key}.${i}.id`, message: `duplicate ${key === 'wards' ? 'ward' : 'gateway'} id "${id}"` });
      seen.add(id);
    });
  }
  if (issues.length || !parsed.success) return { ok: false, issues };
  return { ok: true, city: parsed.data };
}

/** Device ids added, removed and changed between two versions, for the audit row. */
export function diffDevices(before: CityModel, after: CityModel): { added: string[]; removed: string[]; changed: string[] } {
  const old = new Map(before.devices.map((d) => [d.id, JSON.stringify(d)]));
  const now = new Map(after.devices.map((d) => [d.id, JSON.stringify(d)]));
  return {
    added: [...now.keys()].filter((id) => !old.has(id)),
    removed: [...old.keys()].filter((id) => !now.has(id)),
    changed: [...now.entries()].filter(([id, json]) => old.has(id) && old.get(id) !== json).map(([id]) => id),
  };
}
