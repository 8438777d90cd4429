import {
  aqiLevelOf,
  PUBLIC_FIELDS,
  publicSummarySchema,
  rgbHex,
  type CityModel,
  type Limits,
  type PublicKind,
  type PublicSummary,
  type StoredReading,
} from '@tamky/protocol';
import type { PublicConfig } from '../config';
import { computeOverview } from '../overview/overview';

const NO_ALARMS = { critical: 0, major: 0, minor: 0, warning: 0 };

/**
 * Only the fields of `kind` the config lists (all of the kind's public fields when it names none);
 * undefined when the kind is not public at all, null when it is but the ward has no reading of it.
 */
function pick(config: PublicConfig, kind: PublicKind, value: Record<string, unknown> | null): Record<string, unknown> | null | undefined {
  if (!(kind in config.show)) return undefined;
  if (!value) return null;
  const listed = config.show[kind];
  const fields: readonly string[] = listed?.length ? listed : PUBLIC_FIELDS[kind];
  return Object.fromEntries(fields.filter((f) => value[f] !== undefined).map((f) => [f, value[f]]));
}

/**
 * The residents' summary, built from an explicit allow-list: each ward's overview is read, then only the
 * public fields the config names are copied out, and the result is checked against the strict protocol
 * schema (an unexpected field throws instead of leaving).
 */
export function buildPublicSummary(
  city: CityModel,
  latest: StoredReading[],
  limits: Limits,
  now: number,
  config: PublicConfig,
): PublicSummary {
  const shown = config.wards ? new Set(config.wards) : undefined;
  const wards = city.wards.filter((w) => !shown || shown.has(w.id));
  const overview = computeOverview({ ...city, wards }, latest, limits, now, () => NO_ALARMS);
  const summary: PublicSummary = {
    ts: now,
    city: city.name,
    wards: overview.wards.map((o) => {
      const w = wards.find((x) => x.id === o.ward)!;
      const level = o.aqi ? aqiLevelOf(limits.vnAqi.levels, o.aqi.value) : undefined;
      const aqi = pick(
        config,
        'aqi',
        o.aqi && level
          ? {
              value: o.aqi.value,
              level: level.id,
              name: { vi: level.vi, en: level.en },
              color: rgbHex(level.rgb),
              ...(level.advice ? { advice: level.advice } : {}),
              ts: o.aqi.ts,
            }
          : null,
      );
      const noise = pick(config, 'noise', o.noise ? { laeq: o.noise.laeq, limit: o.noise.limit, ts: o.noise.ts } : null);
      const flood = pick(
        config,
        'flood',
        o.water ? { stage: o.water.stage, stages: o.water.alarmLevels.length, level: o.water.level, ts: o.water.ts } : null,
      );
      return {
        id: w.id,
        name: w.name,
        map: { x: w.map.x, y: w.map.y },
        lat: w.lat,
        lon: w.lon,
        ...(aqi !== undefined ? { aqi } : {}),
        ...(noise !== undefined ? { noise } : {}),
        ...(flood !== undefined ? { flood } : {}),
      };
    }),
  };
  return publicSummarySchema.parse(summary);
}
