import { aqiLevelOf, formatDurationIn, type AqiLevelSpec, type CityModel, type Device, type StoredReading } from '@tamky/protocol';
import type { Observation } from './conditions';
import type { AlarmRule, RuleOf } from '@tamky/protocol';
import { sunElevationDeg } from './sun';
import { localHour, hourInWindow } from '@tamky/protocol';

/** Rules that look at readings; the health and silence rules live elsewhere. */
export type ReadingRule = Exclude<
  AlarmRule,
  | RuleOf<'no_data'>
  | RuleOf<'gateway_outbox'>
  | RuleOf<'gateway_disk'>
  | RuleOf<'gateway_clock'>
  | RuleOf<'device_crc_errors'>
  | RuleOf<'system'>
>;

export interface EvalContext {
  city: CityModel;
  device: Device | undefined;
  /** VN_AQI levels as config/limits/vn-aqi.yaml names them (alarm texts quote the level's name). */
  aqiLevels: readonly AqiLevelSpec[];
  /** Samples kept for rate-of-change rules, per (rule, device). */
  history: Map<string, Array<[number, number]>>;
}

/** `severityByLevel` keyed by any level id (the file's ids are checked against the rule schema's list elsewhere). */
const bySeverity = <S>(m: Partial<Record<string, S>> | undefined): Partial<Record<string, S>> => m ?? {};

export const compare = (op: '>' | '>=' | '<' | '<=', a: number, b: number) =>
  op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b;

/** The reading kind a rule needs (derived kinds included). */
export function ruleReadingKind(rule: ReadingRule): string {
  switch (rule.type) {
    case 'threshold':
    case 'rate_of_change':
      return rule.kind;
    case 'vn_aqi_level':
      return 'vn_aqi';
    case 'noise_limit':
      return rule.kind;
    case 'water_level':
      return 'water_level';
    default:
      return 'street_light';
  }
}

function lampCount(device: Device | undefined, values: Record<string, number>): number {
  if (device?.lamps) return device.lamps;
  let n = 0;
  for (let i = 1; i <= 8; i++) if (`lamp${i}_level` in values || `lamp${i}_status` in values) n = i;
  return n;
}

export function evaluateReading(rule: ReadingRule, r: StoredReading, ctx: EvalContext): Observation | undefined {
  const v = r.values;
  const base = { ts: r.ts };
  switch (rule.type) {
    case 'threshold': {
      const x = v[rule.field];
      if (x === undefined) return undefined;
      const clearAt = rule.clearValue ?? rule.value;
      const breach = compare(rule.op, x, rule.value);
      // Clearing needs the value strictly back on the safe side of the (hysteresis) clear value.
      const clear = rule.op.startsWith('>')
        ? x < clearAt || (rule.clearValue === undefined && !breach)
        : x > clearAt || (rule.clearValue === undefined && !breach);
      return { ...base, breach, clear: !breach && clear, value: x, limit: rule.value };
    }
    case 'rate_of_change': {
      const x = v[rule.field];
      if (x === undefined) return undefined;
      const key = `${rule.id}|${r.device}`;
      const samples = ctx.history.get(key) ?? [];
      samples.push([r.ts, x]);
      const horizon = r.ts - rule.windowS * 1000;
      while (samples.length > 1 && samples[0]![0] < horizon) samples.shift();
      if (samples.length > 512) samples.splice(0, samples.length - 512);
      ctx.history.set(key, samples);
      let rise = 0;
      let fall = 0;
      for (const [, s] of samples) {
        rise = Math.max(rise, x - s);
        fall = Math.max(fall, s - x);
      }
      const up = rule.direction === 'up' || (rule.direction === 'any' && rise >= fall);
      const change = up ? rise : fall;
      const breach = change >= rule.delta;
      // The value is the change, compared with the change limit; the level reached is `current`.
      return {
        ...base,
        breach,
        clear: !breach,
        value: Math.round(change * 100) / 100,
        limit: rule.delta,
        vars: {
          change: Math.round(change * 100) / 100,
          current: x,
          direction: up ? { vi: 'tăng', en: 'rose' } : { vi: 'giảm', en: 'fell' },
          window: { vi: formatDurationIn('vi', rule.windowS * 1000), en: formatDurationIn('en', rule.windowS * 1000) },
        },
      };
    }
    case 'vn_aqi_level': {
      const aqi = v.aqi;
      if (aqi === undefined) return undefined;
      const level = aqiLevelOf(ctx.aqiLevels, aqi);
      const breach = aqi >= rule.minAqi;
      const clear = aqi < (rule.clearBelow ?? rule.minAqi);
      return {
        ...base,
        breach,
        clear: !breach && clear,
        value: Math.round(aqi),
        limit: rule.minAqi,
        severity: bySeverity(rule.severityByLevel)[level.id] ?? rule.severity,
        vars: { levelVi: level.vi, levelEn: level.en, level: level.id },
      };
    }
    case 'noise_limit': {
      const laeq = v.laeq;
      if (laeq === undefined) return undefined;
      const zone = ctx.device?.zone ?? 'normal';
      const hour = localHour(r.ts, ctx.city.timeZone);
      const day = hourInWindow(hour, rule.dayStartHour, rule.nightStartHour);
      const table = rule.limits[zone] ?? rule.limits.normal;
      const limit = rule.kind === 'noise_hourly' && v.limit !== undefined ? v.limit : table ? (day ? table.day : table.night) : undefined;
      if (limit === undefined) return undefined;
      const breach = laeq > limit + rule.marginDb;
      const clear = laeq <= limit + rule.marginDb - rule.clearMarginDb;
      return {
        ...base,
        breach,
        clear: !breach && clear,
        value: Math.round(laeq * 10) / 10,
        limit,
        vars: {
          zone,
          zoneVi: zone === 'special' ? 'đặc biệt' : 'thông thường',
          period: day ? 'day' : 'night',
          periodVi: day ? 'ban ngày' : 'ban đêm',
        },
      };
    }
    case 'lamp_failure': {
      const failed: number[] = [];
      for (let i = 1; i <= lampCount(ctx.device, v); i++) {
        const bits = v[`lamp${i}_status`];
        if (bits !== undefined && (bits & rule.mask) !== 0) failed.push(i);
      }
      const breach = failed.length > 0;
      return { ...base, breach, clear: !breach, value: failed.length, limit: 0, vars: { lamps: failed.join(', ') } };
    }
    case 'day_burner':
    case 'night_outage': {
      const lat = ctx.device?.lat ?? ctx.city.lat;
      const lon = ctx.device?.lon ?? ctx.city.lon;
      const elevation = sunElevationDeg(r.ts, lat, lon);
      const n = lampCount(ctx.device, v);
      if (n === 0) return undefined;
      if (rule.type === 'day_burner') {
        const lit: number[] = [];
        for (let i = 1; i <= n; i++) if ((v[`lamp${i}_level`] ?? 0) >= rule.minLevelPct) lit.push(i);
        const breach = elevation > rule.sunAboveDeg && lit.length > 0;
        return {
          ...base,
          breach,
          clear: !breach,
          value: lit.length,
          limit: 0,
          vars: { lamps: lit.join(', '), sunDeg: Math.round(elevation) },
        };
      }
      const dark: number[] = [];
      for (let i = 1; i <= n; i++) {
        const level = v[`lamp${i}_level`];
        if (level !== undefined && level <= 0) dark.push(i);
      }
      const breach = elevation < rule.sunBelowDeg && dark.length > 0;
      return {
        ...base,
        breach,
        clear: !breach,
        value: dark.length,
        limit: 0,
        vars: { lamps: dark.join(', '), sunDeg: Math.round(elevation) },
      };
    }
    case 'power_deviation': {
      const power = v.power;
      const rated = ctx.device?.ratedPowerW;
      if (power === undefined || rated === undefined) return undefined;
      let dim = 0;
      for (let i = 1; i <= lampCount(ctx.device, v); i++) dim += (v[`lamp${i}_level`] ?? 0) / 100;
      const expected = rated * dim;
      if (expected < rule.minExpectedW && power < rule.minExpectedW)
        return { ...base, breach: false, clear: true, value: power, limit: expected };
      const deviation = Math.abs(power - expected) / Math.max(expected, rule.minExpectedW);
      const breach = deviation > rule.tolerance;
      return {
        ...base,
        breach,
        clear: !breach,
        value: Math.round(power),
        limit: Math.round(expected),
        vars: { deviationPct: Math.round(deviation * 100) },
      };
    }
    case 'water_level':
      return undefined; // stateful: see evaluateWaterLevel
  }
}

/**
 * Water level against the station's three alarm levels. The stage only drops once the water is
 * `clearMarginM` below the level that stage was entered at, so a level hovering at a mark does not flap.
 */
export function evaluateWaterLevel(
  rule: RuleOf<'water_level'>,
  r: StoredReading,
  device: Device | undefined,
  previousStage: number,
): (Observation & { stage: number }) | undefined {
  const level = r.values[rule.field];
  const marks = device?.alarmLevels;
  if (level === undefined || !marks) return undefined;
  let stage = marks.filter((m) => level >= m).length;
  for (let s = previousStage; s > stage; s--) {
    if (level >= marks[s - 1]! - rule.clearMarginM) {
      stage = s;
      break;
    }
  }
  const severity = stage > 0 ? rule.severities[stage - 1] : rule.severity;
  return {
    ts: r.ts,
    breach: stage > 0,
    clear: stage === 0,
    value: Math.round(level * 100) / 100,
    limit: stage > 0 ? marks[stage - 1]! : marks[0],
    severity,
    vars: { stage },
    stage,
  };
}
