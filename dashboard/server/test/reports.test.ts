import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { CityModel, Report, StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { reportSchema } from '@tamky/protocol';
import { openStore, sqliteStoreConfigSchema, SqliteStore } from '@tamky/store';
import { Deriver, loadLimits } from '@tamky/ingest';
import { startInfluxd, tempDir } from '@tamky/test-support';
import { createAlarmsModule, type AlarmsModule } from '../src/alarms';
import { api, loadCity, login, startHarness, type Harness, type Session } from './helpers';
import { LOCAL_OFFSET, monthCity, monthReadings } from './report-month';

/**
 * Reports (issue #21 item 4) over a seeded month of raw readings: every figure of the answer is recomputed
 * here from the raw rows (hourly means, energy-averaged LAeq, minute maxima, counter differences) with the
 * limits read straight from the YAML files, on the SQLite store and on a real InfluxDB 1.6.7.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const yaml = (f: string) => parseYaml(readFileSync(join(REPO, 'config/limits', f), 'utf8')) as Record<string, unknown>;
const AQI = yaml('vn-aqi.yaml') as {
  index: number[];
  breakpoints: Record<string, number[]>;
  levels: Array<{ id: string; max: number; rgb: number[]; vi: string }>;
};
const NOISE = yaml('qcvn26-2010.yaml') as { zones: Record<string, { day: number; night: number }>; defaultZone: string };

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const PERIOD = '2026-11';
const FROM = Date.UTC(2026, 10, 1) - LOCAL_OFFSET;
const TO = Date.UTC(2026, 11, 1) - LOCAL_OFFSET;
const NOW = TO + 2 * HOUR;
const WARDS = ['an-my', 'an-phu'];

// --- the month, and what it must report, computed from the raw rows -------------------------------------------
const city: CityModel = monthCity(loadCity(), WARDS);
const raw: StoredReading[] = [];
const derived = new Map<string, StoredReading>();
{
  const deriver = new Deriver(loadLimits(join(REPO, 'config/limits')), city);
  for (const chunk of monthReadings({ from: FROM, to: TO, devices: city.devices })) {
    raw.push(...chunk);
    for (const d of deriver.ingest(chunk)) derived.set(`${d.kind}|${d.device}|${d.ts}`, d);
  }
}
const deviceById = new Map(city.devices.map((d) => [d.id, d]));
const localDayOf = (t: number) => Math.floor((t + LOCAL_OFFSET) / DAY) - Math.floor((FROM + LOCAL_OFFSET) / DAY);
const localHourOf = (t: number) => new Date(t + LOCAL_OFFSET).getUTCHours();

function sub(column: string, c: number): number {
  const bps = AQI.breakpoints[column]!;
  for (let i = 0; i + 1 < bps.length; i++)
    if (c >= bps[i]! && c <= bps[i + 1]!)
      return ((AQI.index[i + 1]! - AQI.index[i]!) / (bps[i + 1]! - bps[i]!)) * (c - bps[i]!) + AQI.index[i]!;
  return AQI.index[bps.length - 1]!;
}
const levelOf = (aqi: number) => AQI.levels.find((l) => aqi <= l.max)?.id ?? AQI.levels.at(-1)!.id;

/** Per ward, per local day: the worst station's daily VN_AQI (null: no station had a valid day). */
function expectedAir(wards: string[]): Map<string, Array<number | null>> {
  const hourly = new Map<string, Map<number, { sum: number; n: number }>>(); // device|field → hour → acc
  for (const r of raw) {
    if (r.kind !== 'air_station') continue;
    for (const f of ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co']) {
      const key = `${r.device}|${f}`;
      const hours = hourly.get(key) ?? new Map();
      hourly.set(key, hours);
      const h = Math.floor(r.ts / HOUR) * HOUR;
      const acc = hours.get(h) ?? { sum: 0, n: 0 };
      acc.sum += r.values[f]!;
      acc.n += 1;
      hours.set(h, acc);
    }
  }
  const column: Record<string, string> = { pm25: 'pm25', pm10: 'pm10', o3: 'o3_8h', no2: 'no2', so2: 'so2', co: 'co' };
  const out = new Map<string, Array<number | null>>(wards.map((w) => [w, Array.from({ length: 30 }, () => null)]));
  for (const station of city.devices.filter((d) => d.kind === 'air_station' && wards.includes(d.ward))) {
    for (let day = 0; day < 30; day++) {
      const subs: Record<string, number> = {};
      for (const f of Object.keys(column)) {
        const means = [...(hourly.get(`${station.id}|${f}`) ?? new Map()).entries()]
          .filter(([h]) => localDayOf(h) === day)
          .map(([, a]) => a.sum / a.n);
        if (means.length >= 18) subs[f] = sub(column[f]!, means.reduce((a, b) => a + b, 0) / means.length);
      }
      if (subs.pm25 === undefined && subs.pm10 === undefined) continue;
      const aqi = Math.round(Math.max(...Object.values(subs)));
      const days = out.get(station.ward)!;
      days[day] = Math.max(days[day] ?? -1, aqi);
    }
  }
  return out;
}

function expectedNoise(wards: string[]) {
  const hours = new Map<string, number[]>(); // device|hour → levels
  for (const r of raw) {
    if (r.kind !== 'noise_meter') continue;
    const key = `${r.device}|${Math.floor(r.ts / HOUR) * HOUR}`;
    hours.set(key, [...(hours.get(key) ?? []), r.values.laeq!]);
  }
  const rows = new Map<string, { hours: number; exceededHours: number; maxLaeq: number | null; limit: number }>();
  for (const [key, levels] of hours) {
    const [device, h] = key.split('|') as [string, string];
    const d = deviceById.get(device)!;
    if (!wards.includes(d.ward)) continue;
    const laeq = 10 * Math.log10(levels.reduce((a, l) => a + 10 ** (l / 10), 0) / levels.length);
    const hour = localHourOf(Number(h));
    const period = hour >= 6 && hour < 21 ? 'day' : 'night';
    const zone = d.zone ?? NOISE.defaultZone;
    const limit = NOISE.zones[zone]![period];
    const row = rows.get(`${d.ward}|${zone}|${period}`) ?? { hours: 0, exceededHours: 0, maxLaeq: null, limit };
    row.hours += 1;
    if (Math.round((laeq - limit) * 10) / 10 > 0) row.exceededHours += 1;
    row.maxLaeq = Math.max(row.maxLaeq ?? -Infinity, Math.round(laeq * 10) / 10);
    rows.set(`${d.ward}|${zone}|${period}`, row);
  }
  return rows;
}

function expectedFloods(wards: string[]) {
  const events: Array<{ device: string; start: number; end: number; peakM: number; alarmLevel: number }> = [];
  for (const d of city.devices.filter((x) => x.kind === 'water_level' && wards.includes(x.ward))) {
    const perMinute = new Map<number, number>();
    for (const r of raw)
      if (r.device === d.id) {
        const m = Math.floor(r.ts / MIN) * MIN;
        perMinute.set(m, Math.max(perMinute.get(m) ?? -Infinity, r.values.level!));
      }
    let run: { start: number; last: number; peak: number } | undefined;
    for (const [m, level] of [...perMinute].sort((a, b) => a[0] - b[0])) {
      if (level >= d.alarmLevels![0]) {
        if (run && m === run.last + MIN) Object.assign(run, { last: m, peak: Math.max(run.peak, level) });
        else run = { start: m, last: m, peak: level };
      } else if (run) {
        events.push({
          device: d.id,
          start: run.start,
          end: run.last + MIN,
          peakM: run.peak,
          alarmLevel: d.alarmLevels!.filter((x) => run!.peak >= x).length,
        });
        run = undefined;
      }
    }
  }
  return events;
}

function expectedEnergy(ward: string): number {
  let total = 0;
  for (const d of city.devices.filter((x) => x.kind === 'street_light' && x.ward === ward)) {
    const e = raw.filter((r) => r.device === d.id).map((r) => r.values.energy!);
    total += e.at(-1)! - e[0]!;
  }
  return total;
}

// --- alarms: opened and acknowledged at known times through the alarms module --------------------------------
interface SeededAlarm {
  rule: string;
  source: string;
  ward?: string;
  device?: string;
  severity: 'critical' | 'major' | 'minor' | 'warning';
  at: number;
  ackAfterMin?: number;
}
const ALARMS: SeededAlarm[] = [
  {
    rule: 'lamp-failure',
    source: 'an-my-light-1',
    ward: 'an-my',
    device: 'an-my-light-1',
    severity: 'minor',
    at: FROM + 2 * DAY,
    ackAfterMin: 12,
  },
  { rule: 'lamp-failure', source: 'an-my-light-1', ward: 'an-my', device: 'an-my-light-1', severity: 'minor', at: FROM + 15 * DAY },
  {
    rule: 'lamp-failure',
    source: 'an-phu-light-1',
    ward: 'an-phu',
    device: 'an-phu-light-1',
    severity: 'minor',
    at: FROM + 4 * DAY,
    ackAfterMin: 7,
  },
  {
    rule: 'noise-qcvn26',
    source: 'an-phu-noise-1',
    ward: 'an-phu',
    device: 'an-phu-noise-1',
    severity: 'minor',
    at: FROM + 5 * DAY,
    ackAfterMin: 5,
  },
  {
    rule: 'flood-level',
    source: 'an-phu-water-1',
    ward: 'an-phu',
    device: 'an-phu-water-1',
    severity: 'major',
    at: FROM + 9 * DAY,
    ackAfterMin: 3,
  },
  {
    rule: 'flood-level',
    source: 'an-phu-water-1',
    ward: 'an-phu',
    device: 'an-phu-water-1',
    severity: 'critical',
    at: FROM + 19 * DAY,
    ackAfterMin: 2,
  },
  { rule: 'aqi-bad', source: 'an-my-air-1', ward: 'an-my', device: 'an-my-air-1', severity: 'major', at: FROM + 21 * DAY, ackAfterMin: 40 },
  { rule: 'pm25-high', source: 'an-my-air-1', ward: 'an-my', device: 'an-my-air-1', severity: 'warning', at: FROM + 22 * DAY },
  // A city-wide alarm (no ward) and two outside the month.
  { rule: 'gateway-silent', source: 'central', severity: 'critical', at: FROM + 25 * DAY, ackAfterMin: 9 },
  {
    rule: 'noise-qcvn26',
    source: 'an-my-noise-1',
    ward: 'an-my',
    device: 'an-my-noise-1',
    severity: 'minor',
    at: FROM - DAY,
    ackAfterMin: 1,
  },
  { rule: 'noise-qcvn26', source: 'an-my-noise-1', ward: 'an-my', device: 'an-my-noise-1', severity: 'minor', at: TO + HOUR },
];

function expectedAlarms(wards: string[] | undefined) {
  const inScope = ALARMS.filter((a) => a.at >= FROM && a.at < TO && (a.ward ? !wards || wards.includes(a.ward) : !wards));
  return ['critical', 'major', 'minor', 'warning'].map((severity) => {
    const of = inScope.filter((a) => a.severity === severity);
    const waits = of.flatMap((a) => (a.ackAfterMin === undefined ? [] : [a.ackAfterMin])).sort((a, b) => a - b);
    const mid = Math.floor(waits.length / 2);
    return {
      severity,
      count: of.length,
      acknowledged: waits.length,
      meanAckMin: waits.length ? Math.round((waits.reduce((a, b) => a + b, 0) / waits.length) * 10) / 10 : null,
      medianAckMin: waits.length ? (waits.length % 2 ? waits[mid]! : (waits[mid - 1]! + waits[mid]!) / 2) : null,
      maxAckMin: waits.length ? waits.at(-1)! : null,
    };
  });
}

async function seedAlarms(module: AlarmsModule, setNow: (t: number) => void) {
  for (const a of [...ALARMS].sort((x, y) => x.at - y.at)) {
    setNow(a.at);
    const outcome = module.store.applyEvent({
      ruleId: a.rule,
      sourceId: a.source,
      state: 'raised',
      severity: a.severity,
      category: 'test',
      ...(a.ward ? { ward: a.ward } : {}),
      ...(a.device ? { device: a.device } : {}),
      value: 1,
      limit: 0,
      since: a.at,
      ts: a.at,
      message: { vi: 'thử', en: 'test' },
    });
    const id = outcome!.alarm.id;
    if (a.ackAfterMin !== undefined) {
      setNow(a.at + a.ackAfterMin * MIN);
      module.store.acknowledge(id, 'operator');
    }
    setNow(a.at + HOUR);
    module.store.applyEvent({
      ruleId: a.rule,
      sourceId: a.source,
      state: 'cleared',
      severity: a.severity,
      category: 'test',
      value: 0,
      limit: 0,
      since: a.at,
      ts: a.at + HOUR,
      message: { vi: 'hết', en: 'cleared' },
    });
  }
}

// --- the figures checked against the expectations ---------------------------------------------------------------
function checkReport(r: Report, wards: string[], unscoped: boolean) {
  expect(reportSchema.parse(r)).toBeTruthy();
  expect(r.from).toBe(FROM);
  expect(r.to).toBe(TO);
  expect(r.days).toBe(30);
  expect(r.wards.map((w) => w.id).sort()).toEqual([...wards].sort());
  // VN_AQI: levels and colours as configured; every ward's day, and the days per level.
  expect(r.air.levels.map((l) => [l.id, l.rgb, l.vi])).toEqual(AQI.levels.map((l) => [l.id, l.rgb, l.vi]));
  const air = expectedAir(wards);
  for (const w of r.air.wards) {
    const days = air.get(w.ward)!;
    expect(w.daily.map((d) => d.aqi)).toEqual(days);
    expect(w.daily.map((d) => d.level)).toEqual(days.map((a) => (a === null ? null : levelOf(a))));
    for (const l of AQI.levels) expect(w.daysByLevel[l.id]).toBe(days.filter((a) => a !== null && levelOf(a) === l.id).length);
    expect(w.noDataDays).toBe(days.filter((a) => a === null).length);
  }
  // QCVN 26 hours by ward, zone and period.
  const noise = expectedNoise(wards);
  expect(r.noise.rows.length).toBe(noise.size);
  for (const row of r.noise.rows) {
    const e = noise.get(`${row.ward}|${row.zone}|${row.period}`)!;
    expect({ hours: row.hours, exceededHours: row.exceededHours, maxLaeq: row.maxLaeq, limit: row.limit }).toEqual(e);
  }
  expect(r.noise.rows.some((x) => x.exceededHours > 0 && x.exceededHours < x.hours)).toBe(true);
  // Floods: start, end, duration, peak, alarm level.
  const floods = expectedFloods(wards);
  expect(r.flood.events.map((e) => ({ device: e.device, start: e.start, end: e.end, peakM: e.peakM, alarmLevel: e.alarmLevel }))).toEqual(
    floods,
  );
  for (const e of r.flood.events) expect(e.durationMin).toBe((e.end - e.start) / MIN);
  // Alarms and times to acknowledge.
  expect(r.alarms.bySeverity).toEqual(expectedAlarms(unscoped ? undefined : wards));
  // Lamp failures and energy.
  for (const w of r.lighting.wards) {
    const failures = ALARMS.filter((a) => a.rule === 'lamp-failure' && a.ward === w.ward && a.at >= FROM && a.at < TO);
    expect(w.lampFailures).toBe(failures.length);
    expect(w.cabinetsWithFailures).toBe(new Set(failures.map((a) => a.device)).size);
    expect(w.energyKwh).toBe(expectedEnergy(w.ward));
    expect(w.energyKwh).toBeGreaterThan(0);
  }
}

async function seedStore(store: TimeSeriesStore) {
  for (let i = 0; i < raw.length; i += 20_000) await store.writeBatch(raw.slice(i, i + 20_000));
  await store.writeBatch([...derived.values()]);
}

async function startReports(store?: TimeSeriesStore): Promise<{ h: Harness; admin: Session }> {
  let now = NOW;
  const alarms = createAlarmsModule({ rulesFile: join(REPO, 'config/rules/default.yaml'), reopenWindowS: 0, burstWindowS: 0 });
  const h = await startHarness({ city, modules: [alarms], now: () => now, ...(store ? { store } : {}) });
  await seedStore(h.store);
  await seedAlarms(alarms, (t) => (now = t));
  now = NOW;
  return { h, admin: await login(h.url, 'admin') };
}

const json = async (res: Response) => {
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as Report;
};

describe('reports over the SQLite store', () => {
  let h: Harness;
  let admin: Session;
  beforeAll(async () => {
    ({ h, admin } = await startReports());
  });
  afterAll(async () => h?.close());

  it('monthly city report: every figure matches the raw rows', async () => {
    const viewer = await login(h.url, 'viewer');
    checkReport(await json(await api(h.url, viewer, 'GET', `/api/reports/monthly?period=${PERIOD}`)), WARDS, true);
    // The seeded month reaches several levels, has days with too few hours, and floods at two alarm levels.
    const allDays = [...expectedAir(WARDS).values()].flat();
    expect(new Set(allDays.filter((a) => a !== null).map((a) => levelOf(a!))).size).toBeGreaterThanOrEqual(4);
    expect(allDays.filter((a) => a === null).length).toBeGreaterThan(0);
    expect(new Set(expectedFloods(WARDS).map((e) => e.alarmLevel))).toEqual(new Set([1, 2]));
  });

  it('monthly ward report and a daily report', async () => {
    const ward = await json(await api(h.url, admin, 'GET', `/api/reports/monthly?period=${PERIOD}&ward=an-phu`));
    checkReport(ward, ['an-phu'], false);
    const day = await json(await api(h.url, admin, 'GET', '/api/reports/daily?period=2026-11-20&ward=an-phu'));
    const dayFrom = FROM + 19 * DAY;
    expect([day.from, day.to, day.days]).toEqual([dayFrom, dayFrom + DAY, 1]);
    expect(day.air.wards[0]!.daily).toEqual([
      { date: '2026-11-20', aqi: expectedAir(['an-phu']).get('an-phu')![19], level: levelOf(expectedAir(['an-phu']).get('an-phu')![19]!) },
    ]);
    expect(day.flood.events.map((e) => e.start)).toEqual(
      expectedFloods(['an-phu'])
        .filter((e) => e.start >= dayFrom && e.start < dayFrom + DAY)
        .map((e) => e.start),
    );
    expect(day.alarms.bySeverity.find((a) => a.severity === 'critical')).toMatchObject({ count: 1, acknowledged: 1, maxAckMin: 2 });
  });

  it('refuses malformed periods and unknown wards', async () => {
    expect((await api(h.url, admin, 'GET', '/api/reports/monthly?period=2026-11-01')).status).toBe(400);
    expect((await api(h.url, admin, 'GET', '/api/reports/daily?period=2026-02-30')).status).toBe(400);
    expect((await api(h.url, admin, 'GET', `/api/reports/monthly?period=${PERIOD}&ward=atlantis`)).status).toBe(404);
    expect((await api(h.url, null, 'GET', `/api/reports/monthly?period=${PERIOD}`)).status).toBe(401);
  });

  it('a ward-scoped token reads only its ward; a token without read:readings is refused', async () => {
    const create = async (body: unknown) =>
      ((await (await api(h.url, admin, 'POST', '/api/tokens', body)).json()) as { text: string }).text;
    const wardToken = await create({ name: 'an-my office', scopes: ['read:readings'], wards: ['an-my'] });
    const alarmsOnly = await create({ name: 'alarms only', scopes: ['read:alarms'] });
    const get = (path: string, token: string) => fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const scoped = await json(await get(`/api/reports/monthly?period=${PERIOD}`, wardToken));
    checkReport(scoped, ['an-my'], false);
    expect(scoped.flood.events).toEqual([]); // an-phu's floods are not its business
    expect((await get(`/api/reports/monthly?period=${PERIOD}&ward=an-phu`, wardToken)).status).toBe(404);
    expect((await get(`/api/reports/monthly?period=${PERIOD}`, alarmsOnly)).status).toBe(403);
  });

  it('PDF: named by the period, Vietnamese text embedded, renders to a non-blank page (pdftoppm)', async () => {
    const res = await api(h.url, admin, 'GET', `/api/reports/monthly?period=${PERIOD}&format=pdf`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="bao-cao-thang-2026-11.pdf"');
    const file = join(h.dir, 'report.pdf');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).toContain('Báo cáo tháng 2026-11');
    expect(text).toContain('Tiếng ồn: số giờ vượt giới hạn QCVN 26:2010/BTNMT');
    expect(text).toContain('Trung bình'); // a VN_AQI level as configured
    execFileSync('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '1', file, join(h.dir, 'page')]);
    const png = join(h.dir, 'page-1.png');
    expect(existsSync(png)).toBe(true);
    expect(statSync(png).size).toBeGreaterThan(1000);
    // Non-blank: the same page as greyscale PGM has dark pixels (text and table lines).
    const pgm = execFileSync('pdftoppm', ['-gray', '-r', '40', '-f', '1', '-l', '1', file]);
    const header = pgm.subarray(0, 20).toString('latin1').split(/\s+/);
    const pixels = pgm.subarray(pgm.length - Number(header[1]) * Number(header[2]));
    expect(pixels.filter((p) => p < 128).length).toBeGreaterThan(500);
  });

  it('XLSX: opened by openpyxl, cells equal the report', async () => {
    const res = await api(h.url, admin, 'GET', `/api/reports/monthly?period=${PERIOD}&ward=an-phu&format=xlsx`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="bao-cao-thang-2026-11-an-phu.xlsx"');
    const file = join(h.dir, 'report.xlsx');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const dump = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import json,sys,openpyxl\nwb=openpyxl.load_workbook(sys.argv[1])\nprint(json.dumps({ws.title:[[c for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets},default=str))',
        file,
      ],
      { encoding: 'utf8' },
    );
    const sheets = JSON.parse(dump) as Record<string, Array<Array<string | number | null>>>;
    expect(Object.keys(sheets)).toEqual(['VN_AQI', 'QCVN 26', 'Ngập', 'Cảnh báo', 'Chiếu sáng']);
    const report = await json(await api(h.url, admin, 'GET', `/api/reports/monthly?period=${PERIOD}&ward=an-phu`));
    const air = report.air.wards[0]!;
    expect(sheets['VN_AQI']![3]).toEqual(['Phường/xã', ...AQI.levels.map((l) => l.vi), 'Không đủ dữ liệu', 'VN_AQI ngày cao nhất']);
    expect(sheets['VN_AQI']![4]).toEqual(['An Phú', ...AQI.levels.map((l) => air.daysByLevel[l.id]), air.noDataDays, air.maxAqi]);
    const floods = sheets['Ngập']!.slice(4);
    expect(floods.map((row) => [row[4], row[5], row[6]])).toEqual(report.flood.events.map((e) => [e.durationMin, e.peakM, e.alarmLevel]));
    const alarms = sheets['Cảnh báo']!.slice(4);
    expect(alarms.map((row) => row.slice(1))).toEqual(
      report.alarms.bySeverity.map((a) => [a.count, a.acknowledged, a.meanAckMin, a.medianAckMin, a.maxAckMin].map((v) => v ?? null)),
    );
    expect(sheets['Chiếu sáng']![4]).toEqual(['An Phú', 1, 1, expectedEnergy('an-phu')]);
  });
});

describe('reports over InfluxDB 1.6.7', () => {
  let h: Harness;
  let influx: Awaited<ReturnType<typeof startInfluxd>>;
  beforeAll(async () => {
    influx = await startInfluxd();
    const store = await openStore({ type: 'influxdb', api: 'v1', url: influx.url, database: 'tamky' });
    ({ h } = await startReports(store));
  });
  afterAll(async () => {
    await h?.close();
    await influx?.stop();
  });

  it('monthly city report: every figure matches the raw rows', async () => {
    const viewer = await login(h.url, 'viewer');
    checkReport(await json(await api(h.url, viewer, 'GET', `/api/reports/monthly?period=${PERIOD}`)), WARDS, true);
  });
});

describe('a month whose raw rows and minute rollups have passed their retention', () => {
  let h: Harness;
  let admin: Session;
  let store: SqliteStore;
  beforeAll(async () => {
    store = new SqliteStore(
      sqliteStoreConfigSchema.parse({
        type: 'sqlite',
        path: join(tempDir('reports-retention'), 'readings.db'),
        retention: { rawDays: 14, minuteDays: 14, hourDays: 730 },
      }),
    );
    ({ h, admin } = await startReports(store));
    store.catchUpRollups();
    const removed = store.applyRetention(TO + 20 * DAY);
    expect(removed.raw).toBeGreaterThan(0);
    expect(removed.minute).toBeGreaterThan(0);
  });
  afterAll(async () => h?.close());

  it('tells every flood to the hour from the hourly maxima instead of dropping it', async () => {
    const r = await json(await api(h.url, admin, 'GET', `/api/reports/monthly?period=${PERIOD}&ward=an-phu`));
    const floods = expectedFloods(['an-phu']);
    expect(floods.length).toBeGreaterThan(0);
    for (const e of r.flood.events) {
      expect([e.start % HOUR, e.end % HOUR]).toEqual([0, 0]);
      expect(e.durationMin).toBe((e.end - e.start) / MIN);
    }
    // Each flood lies inside one reported event of its station; each event's peak is the highest of its floods.
    for (const f of floods)
      expect(r.flood.events.filter((e) => e.device === f.device && e.start <= f.start && f.end <= e.end)).toHaveLength(1);
    for (const e of r.flood.events) {
      const inside = floods.filter((f) => f.device === e.device && e.start <= f.start && f.end <= e.end);
      expect(inside.length).toBeGreaterThan(0);
      expect(e.peakM).toBeCloseTo(Math.max(...inside.map((f) => f.peakM)), 3);
      expect(e.alarmLevel).toBe(Math.max(...inside.map((f) => f.alarmLevel)));
    }
  });
});

describe("a flood that straddles the minute rollups' retention cutoff", () => {
  it('keeps its older hours (to the hour) and its newer minutes', async () => {
    const longest = [...expectedFloods(['an-phu'])].sort((a, b) => b.end - b.start - (a.end - a.start))[0]!;
    const cut = Math.ceil((longest.start + 1) / HOUR) * HOUR;
    expect(cut).toBeLessThan(longest.end); // the seeded month has a flood longer than an hour boundary
    const store = new SqliteStore(
      sqliteStoreConfigSchema.parse({
        type: 'sqlite',
        path: join(tempDir('reports-straddle'), 'readings.db'),
        retention: { rawDays: 14, minuteDays: 14, hourDays: 730 },
      }),
    );
    const { h, admin } = await startReports(store);
    try {
      store.catchUpRollups();
      store.applyRetention(cut + 14 * DAY);
      const r = await json(await api(h.url, admin, 'GET', `/api/reports/monthly?period=${PERIOD}&ward=an-phu`));
      const mine = r.flood.events.filter((e) => e.device === longest.device);
      // The flood's start, past the minute rollups, is inside an event told to the hour that ends at the cutoff...
      expect(mine.some((e) => e.start <= longest.start && e.end === cut && e.start % HOUR === 0)).toBe(true);
      // ...and its end, still held per minute, is told to the minute.
      expect(mine.some((e) => e.start >= cut && e.end === longest.end)).toBe(true);
    } finally {
      await h.close();
    }
  });
});
