import type { Response } from 'express';
import type { CityModel, RangeQuery } from '@tamky/protocol';
import type { ApiToken } from '../tokens/token-store';
import type { Session } from '../auth/sessions';

/**
 * Wards the caller may see and act on: an API token's wards, or those of a ward-limited account's session;
 * undefined = the whole city. The one answer every route and the live feed ask.
 */
export function wardScopeOf(res: Response): string[] | undefined {
  const token = res.locals.apiToken as ApiToken | undefined;
  if (token) return token.wards.length ? token.wards : undefined;
  return (res.locals.session as Session | undefined)?.user.wards;
}

/** True when a caller limited to `wards` may see something in `ward` (null: not tied to a ward, city-wide). */
export function inScope(wards: readonly string[] | undefined, ward: string | null | undefined): boolean {
  return !wards || (ward != null && wards.includes(ward));
}

/** The part of the city model a caller limited to `wards` may see (undefined = all of it). */
export function cityInWards(city: CityModel, wards: readonly string[] | undefined): CityModel {
  if (!wards) return city;
  const keep = new Set(wards);
  return {
    ...city,
    wards: city.wards.filter((w) => keep.has(w.id)),
    gateways: city.gateways.filter((g) => keep.has(g.ward)),
    devices: city.devices.filter((d) => keep.has(d.ward)),
  };
}

/** A history query narrowed to the devices of `wards`: a device outside them is never read, even if named. */
export function limitQueryToWards(q: RangeQuery, city: CityModel, wards: readonly string[] | undefined): RangeQuery {
  if (!wards) return q;
  const allowed = new Set(city.devices.filter((d) => wards.includes(d.ward)).map((d) => d.id));
  // An empty list reads no device in every store (RangeQuery.devices).
  return { ...q, devices: (q.devices ?? [...allowed]).filter((d) => allowed.has(d)) };
}

/** The ward a device, gateway or ward of the city model belongs to (undefined: no such thing). */
export function wardOfThing(city: CityModel, type: 'device' | 'gateway' | 'ward', id: string): string | undefined {
  if (type === 'device') return city.devices.find((d) => d.id === id)?.ward;
  if (type === 'gateway') return city.gateways.find((g) => g.id === id)?.ward;
  return city.wards.find((w) => w.id === id)?.id;
}
