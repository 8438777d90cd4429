import type Database from 'better-sqlite3';
import {
  aqiLevelOf,
  SEVERITIES,
  subIndex,
  type CityModel,
  type Device,
  type Aggregate,
  type Limits,
  type Report,
  type ReportKind,
  type Series,
  type TimeSeriesStore,
} from '@tamky/protocol';
import { reportPeriod, type ReportPeriod } from './period';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** A pollutant's 24-hour average counts when three quarters of the day's hours have an hourly average. */
const MIN_HOURS_PER_DAY = 18;
/** Breakpoint column of each pollutant for 24-hour averages (O3: the 8-hour column, as the decision says). */
const DAILY_COLUMN: Record<string, string> = { pm25: 'pm25', pm10: 'pm10', o3: 'o3_8h', no2: 'no2', so2: 'so2', co: 'co' };
const AIR_SOURCES: Record<string, string[]> = {
  air_station: ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co'],
  pm_sensor: ['pm25', 'pm10'],
};

export interface ReportInputs {
  store: TimeSeriesStore;
  /** The state DB (alarms, rules); absent tables read as no alarms. */
  db: Database.Database;
  /** The city as the caller may see it (ward-scoped already). */
  city: CityModel;
  limits: Limits;
  kind: ReportKind;
  period: string;
  ward?: string | undefined;
  now: number;
}

/** Index of the local day holding `ts` (days ascending, contiguous), or -1 outside the period. */
function dayIndexer(p: ReportPeriod): (ts: number) => number {
  let i = 0;
  return (ts) => {
    if (ts < p.from || ts >= p.to) return -1;
    if (ts < p.days[i]!.from) i = 0;
    while (ts >= p.days[i]!.to) i++;
    return i;
  };
}

const devicesOf = (city: CityModel, kinds: string[]) => city.devices.filter((d) => kinds.includes(d.kind));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

async function queryAll(
  store: TimeSeriesStore,
  kind: string,
  fields: string[],
  devices: Device[],
  range: { from: number; to: number },
  window?: { ms: number; aggregate: Aggregate; exact?: boolean },
) {
  if (devices.length === 0) return [] as Series[];
  return store.query({
    kind,
    fields,
    from: range.from,
    to: range.to,
    devices: devices.map((d) => d.id),
    ...(window ? { windowMs: window.ms, aggregate: window.aggregate, ...(window.exact ? { exactWindow: true } : {}) } : {}),
  });
}

async function airSection(inp: ReportInputs, p: ReportPeriod): Promise<Report['air']> {
  const table = inp.limits.vnAqi;
  const dayOf = dayIndexer(p);
  // device → field → per day [sum of hourly means, hours]
  const acc = new Map<string, Map<string, Array<[number, number]>>>();
  for (const [kind, fields] of Object.entries(AIR_SOURCES)) {
    const series = await queryAll(inp.store, kind, fields, devicesOf(inp.city, [kind]), p, { ms: HOUR_MS, aggregate: 'mean' });
    for (const s of series) {
      const perField = acc.get(s.device) ?? new Map<string, Array<[number, number]>>();
      acc.set(s.device, perField);
      const days = perField.get(s.field) ?? p.days.map((): [number, number] => [0, 0]);
      perField.set(s.field, days);
      for (const [ts, v] of s.points) {
        const i = dayOf(ts);
        if (i < 0 || !Number.isFinite(v)) continue;
        days[i]![0] += v;
        days[i]![1] += 1;
      }
    }
  }
  const wardOf = new Map(inp.city.devices.map((d) => [d.id, d.ward]));
  // ward → per day the worst station's daily AQI
  const wardDays = new Map<string, Array<number | null>>(inp.city.wards.map((w) => [w.id, p.days.map(() => null)]));
  for (const [device, perField] of acc) {
    const ward = wardOf.get(device);
    const days = ward ? wardDays.get(ward) : undefined;
    if (!days) continue;
    p.days.forEach((_, i) => {
      const sub: Record<string, number> = {};
      for (const [field, perDay] of perField) {
        const [sum, n] = perDay[i]!;
        if (n < MIN_HOURS_PER_DAY) continue;
        const si = subIndex(table, DAILY_COLUMN[field]!, sum / n);
        if (si !== undefined) sub[field] = si;
      }
      if (sub.pm25 === undefined && sub.pm10 === undefined) return;
      const aqi = Math.round(Math.max(...Object.values(sub)));
      days[i] = Math.max(days[i] ?? -1, aqi);
    });
  }
  return {
    levels: table.levels.map((l) => ({ id: l.id, vi: l.vi, en: l.en, max: l.max, rgb: l.rgb })),
    wards: [...wardDays].map(([ward, days]) => {
      const daysByLevel: Record<string, number> = Object.fromEntries(table.levels.map((l) => [l.id, 0]));
      const daily = days.map((aqi, i) => {
        const level = aqi === null ? null : aqiLevelOf(table.levels, aqi).id;
        if (level) daysByLevel[level]! += 1;
        return { date: p.days[i]!.date, aqi, level };
      });
      const known = days.filter((d): d is number => d !== null);
      return { ward, daysByLevel, noDataDays: days.length - known.length, maxAqi: known.length ? Math.max(...known) : null, daily };
    }),
  };
}

async function noiseSection(inp: ReportInputs, p: ReportPeriod): Promise<Report['noise']> {
  const limits = inp.limits.noise;
  const meters = devicesOf(inp.city, ['noise_meter']);
  const zoneOf = (d: Device) => (d.zone && limits.zones[d.zone] ? d.zone : limits.defaultZone);
  const rows = new Map<string, Report['noise']['rows'][number]>();
  for (const d of meters)
    for (const period of ['day', 'night'] as const) {
      const zone = zoneOf(d);
      const key = `${d.ward}|${zone}|${period}`;
      if (!rows.has(key))
        rows.set(key, { ward: d.ward, zone, period, limit: limits.zones[zone]![period], hours: 0, exceededHours: 0, maxLaeq: null });
    }
  const series = await queryAll(inp.store, 'noise_hourly', ['laeq', 'exceedance', 'night'], meters, p);
  const byDevice = new Map<string, Map<string, Map<number, number>>>();
  for (const s of series) {
    const fields = byDevice.get(s.device) ?? new Map<string, Map<number, number>>();
    byDevice.set(s.device, fields);
    fields.set(s.field, new Map(s.points));
  }
  for (const d of meters) {
    const fields = byDevice.get(d.id);
    const laeq = fields?.get('laeq');
    if (!laeq) continue;
    for (const [ts, level] of laeq) {
      if (ts < p.from || ts >= p.to) continue;
      const period = fields!.get('night')?.get(ts) === 1 ? 'night' : 'day';
      const row = rows.get(`${d.ward}|${zoneOf(d)}|${period}`)!;
      row.hours += 1;
      if ((fields!.get('exceedance')?.get(ts) ?? 0) > 0) row.exceededHours += 1;
      row.maxLaeq = row.maxLaeq === null ? level : Math.max(row.maxLaeq, level);
    }
  }
  return { edition: limits.edition, rows: [...rows.values()] };
}

/** Hours (start ts) in which a station's hourly maximum reached its alarm level 1, merged into ranges. */
function floodRanges(hourly: Series, level1: number): Array<{ from: number; to: number }> {
  const ranges: Array<{ from: number; to: number }> = [];
  for (const [ts, max] of hourly.points) {
    if (max < level1) continue;
    const last = ranges[ranges.length - 1];
    if (last && last.to === ts) last.to = ts + HOUR_MS;
    else ranges.push({ from: ts, to: ts + HOUR_MS });
  }
  return ranges;
}

/** A flood judged from hourly maxima alone: whole hours, peak the highest hourly maximum. */
function hourlyFloodEvent(
  d: { ward: string; id: string; name: string },
  marks: readonly number[],
  hourly: Series,
  range: { from: number; to: number },
  p: ReportPeriod,
): Report['flood']['events'][number] {
  const peak = Math.max(...hourly.points.filter(([ts]) => ts >= range.from && ts < range.to).map(([, v]) => v));
  const start = Math.max(range.from, p.from);
  const end = Math.min(range.to, p.to);
  return {
    ward: d.ward,
    device: d.id,
    name: d.name,
    start,
    end,
    durationMin: (end - start) / MINUTE_MS,
    peakM: round(peak, 3),
    alarmLevel: marks.filter((m) => peak >= m).length,
  };
}

async function floodSection(inp: ReportInputs, p: ReportPeriod): Promise<Report['flood']> {
  const stations = devicesOf(inp.city, ['water_level']).filter((d) => d.alarmLevels);
  const byId = new Map(stations.map((d) => [d.id, d]));
  const events: Report['flood']['events'] = [];
  // Hourly maxima find the hours with water at alarm level 1; only those are read per minute.
  for (const hourly of await queryAll(inp.store, 'water_level', ['level'], stations, p, { ms: HOUR_MS, aggregate: 'max' })) {
    const d = byId.get(hourly.device);
    if (!d) continue;
    const marks = d.alarmLevels!;
    for (const range of floodRanges(hourly, marks[0])) {
      // Exact: each point is read as one minute, so no hourly points where minute rollups are gone.
      const minutes = await queryAll(inp.store, 'water_level', ['level'], [d], range, { ms: MINUTE_MS, aggregate: 'max', exact: true });
      // Minute rollups are kept for less time than hourly ones: the hours of a flood older than the minutes
      // still kept are told to the hour, never dropped.
      const firstMinuteHour = minutes[0]?.points.length ? Math.floor(minutes[0].points[0]![0] / HOUR_MS) * HOUR_MS : range.to;
      if (firstMinuteHour > range.from) events.push(hourlyFloodEvent(d, marks, hourly, { from: range.from, to: firstMinuteHour }, p));
      if (firstMinuteHour >= range.to) continue;
      let run: { start: number; last: number; peak: number } | undefined;
      const close = () => {
        if (!run) return;
        const end = Math.min(run.last + MINUTE_MS, p.to);
        events.push({
          ward: d.ward,
          device: d.id,
          name: d.name,
          start: run.start,
          end,
          durationMin: (end - run.start) / MINUTE_MS,
          peakM: round(run.peak, 3),
          alarmLevel: marks.filter((m) => run!.peak >= m).length,
        });
        run = undefined;
      };
      for (const [ts, level] of minutes[0]?.points ?? []) {
        if (level >= marks[0]) {
          if (run && ts === run.last + MINUTE_MS) {
            run.last = ts;
            run.peak = Math.max(run.peak, level);
          } else {
            close();
            run = { start: ts, last: ts, peak: level };
          }
        } else close();
      }
      close();
    }
  }
  events.sort((a, b) => a.start - b.start || a.device.localeCompare(b.device));
  return { events };
}

interface AlarmRow {
  severity: string;
  opened_at: number;
  acknowledged_at: number | null;
  ward: string | null;
  rule_id: string;
  device: string | null;
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Alarms opened in the period in the wards the report covers (city-wide alarms without a ward only in an unscoped city report). */
function alarmRows(inp: ReportInputs, p: ReportPeriod, unscopedCity: boolean): AlarmRow[] {
  if (!tableExists(inp.db, 'alarms')) return [];
  const rows = inp.db
    .prepare<[number, number], AlarmRow>(
      'SELECT severity, opened_at, acknowledged_at, ward, rule_id, device FROM alarms WHERE opened_at >= ? AND opened_at < ?',
    )
    .all(p.from, p.to);
  const wards = new Set(inp.city.wards.map((w) => w.id));
  return rows.filter((r) => (r.ward === null ? unscopedCity : wards.has(r.ward)));
}

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function alarmSection(rows: AlarmRow[]): Report['alarms'] {
  return {
    bySeverity: SEVERITIES.map((severity) => {
      const of = rows.filter((r) => r.severity === severity);
      const waits = of
        .filter((r) => r.acknowledged_at !== null)
        .map((r) => (r.acknowledged_at! - r.opened_at) / MINUTE_MS)
        .sort((a, b) => a - b);
      return {
        severity,
        count: of.length,
        acknowledged: waits.length,
        meanAckMin: waits.length ? round(waits.reduce((a, b) => a + b, 0) / waits.length, 1) : null,
        medianAckMin: waits.length ? round(median(waits), 1) : null,
        maxAckMin: waits.length ? round(waits[waits.length - 1]!, 1) : null,
      };
    }),
  };
}

/** Ids of the rules of type lamp_failure in the rule set ingest runs (the newest version in the state DB). */
function lampFailureRules(db: Database.Database): Set<string> {
  if (!tableExists(db, 'rules')) return new Set();
  const row = db.prepare<[], { rules: string }>('SELECT rules FROM rules ORDER BY version DESC LIMIT 1').get();
  const rules = row ? (JSON.parse(row.rules) as Array<{ id?: string; type?: string }>) : [];
  return new Set(rules.filter((r) => r.type === 'lamp_failure' && typeof r.id === 'string').map((r) => r.id!));
}

async function lightingSection(inp: ReportInputs, p: ReportPeriod, alarms: AlarmRow[]): Promise<Report['lighting']> {
  const cabinets = devicesOf(inp.city, ['street_light']);
  const energy = new Map<string, number>(inp.city.wards.map((w) => [w.id, 0]));
  for (const s of await queryAll(inp.store, 'lighting_energy', ['energy_kwh'], cabinets, p))
    for (const [ts, kwh] of s.points) if (ts >= p.from && ts < p.to) energy.set(s.ward, (energy.get(s.ward) ?? 0) + kwh);
  const lampRules = lampFailureRules(inp.db);
  const failures = alarms.filter((a) => lampRules.has(a.rule_id) && a.ward !== null);
  const wards = inp.city.wards.map((w) => {
    const of = failures.filter((a) => a.ward === w.id);
    return {
      ward: w.id,
      lampFailures: of.length,
      cabinetsWithFailures: new Set(of.map((a) => a.device)).size,
      energyKwh: round(energy.get(w.id) ?? 0, 3),
    };
  });
  return {
    wards,
    totalEnergyKwh: round(
      wards.reduce((a, w) => a + w.energyKwh, 0),
      3,
    ),
  };
}

/**
 * The report of a period over the wards of `inp.city`, from hourly and minutely rollups and the derived hourly
 * kinds (never raw rows), and the alarms table of the state DB.
 */
export async function computeReport(inp: ReportInputs, unscopedCity: boolean): Promise<Report> {
  const p = reportPeriod(inp.kind, inp.period, inp.city.timeZone);
  const alarms = alarmRows(inp, p, unscopedCity);
  const [air, noise, flood, lighting] = await Promise.all([
    airSection(inp, p),
    noiseSection(inp, p),
    floodSection(inp, p),
    lightingSection(inp, p, alarms),
  ]);
  return {
    kind: inp.kind,
    period: inp.period,
    from: p.from,
    to: p.to,
    timeZone: inp.city.timeZone,
    days: p.days.length,
    ...(inp.ward ? { ward: inp.ward } : {}),
    generatedAt: inp.now,
    wards: inp.city.wards.map((w) => ({ id: w.id, name: w.name })),
    air,
    noise,
    flood,
    alarms: alarmSection(alarms),
    lighting,
  };
}
