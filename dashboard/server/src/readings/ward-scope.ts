import type { CityModel, RangeQuery } from '@tamky/protocol';

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
