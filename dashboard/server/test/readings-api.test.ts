import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { localIsoString } from '@tamky/protocol';
import { csvFileName, localDate, seriesToCsv } from '../src/readings/csv';
import { api, login, METRICS_TOKEN, startHarness, type Harness, type Session } from './helpers';

// 2025-06-01 10:00 in Asia/Ho_Chi_Minh (03:00 UTC): QCVN 26 day period.
const T0 = Date.UTC(2025, 5, 1, 3, 0, 0);
const MIN = 60_000;
let h: Harness;
let viewer: Session;
let tech: Session;

const r = (
  kind: string,
  device: string,
  gateway: string,
  ward: string,
  ts: number,
  values: Record<string, number>,
  seq = 0,
  clock?: StoredReading['clock'],
): StoredReading => ({ kind, device, gateway, ward, ts, seq, values, ...(clock ? { clock } : {}) });

beforeAll(async () => {
  h = await startHarness({ now: () => T0 + 60 * MIN, config: { metrics: { host: '127.0.0.1', token: METRICS_TOKEN } } });
  const readings: StoredReading[] = [];
  for (let i = 0; i < 60; i++)
    // The second was read before the gateway's clock was synchronised.
    readings.push(
      r(
        'noise_meter',
        'an-my-noise-1',
        'gw-an-my',
        'an-my',
        T0 + i * MIN + 1000,
        { laeq: 50 + (i % 10) },
        i,
        i === 1 ? 'unsynced' : undefined,
      ),
    );
  // Ingest keys hourly derived values by the start of the hour and rewrites them as the hour fills.
  readings.push(r('vn_aqi', 'an-my-air-1', 'gw-an-my', 'an-my', T0, { aqi: 87.4 }, -1));
  readings.push(
    r('air_station', 'an-my-air-1', 'gw-an-my', 'an-my', T0 + 59 * MIN, { pm25: 30, pm10: 60, humidity: 80, temperature: 31 }, 100),
  );
  readings.push(r('water_level', 'an-phu-water-1', 'gw-an-phu', 'an-phu', T0 + 59 * MIN, { level: 3.2, distance: 2.8 }, 5));
  const lamps: Record<string, number> = {};
  for (let i = 1; i <= 8; i++) {
    lamps[`lamp${i}_level`] = i <= 5 ? 100 : i <= 7 ? 50 : 100;
    lamps[`lamp${i}_status`] = i === 8 ? 0b10 : 0b100;
  }
  readings.push(r('street_light', 'an-my-light-1', 'gw-an-my', 'an-my', T0 + 59 * MIN, { ...lamps, power: 900, energy: 1234 }, 7));
  readings.push(
    r(
      'traffic_counter',
      'an-my-traffic-1',
      'gw-an-my',
      'an-my',
      T0 + 59 * MIN,
      { interval: 60, lane1_motorbike: 40, lane1_car: 5, lane1_bus: 1, lane1_truck: 0, lane1_occupancy: 30, lane1_speed: 35 },
      8,
    ),
  );
  await h.store.writeBatch(readings);
  await h.store.writeDeadLetters([
    {
      ts: T0,
      topic: 'city/v1/gw/gw-an-my/telemetry',
      gateway: 'gw-an-my',
      device: 'an-my-noise-1',
      reason: 'laeq out of range',
      raw: '{"laeq":999}',
    },
  ]);
  viewer = await login(h.url, 'viewer');
  tech = await login(h.url, 'technician');
});
afterAll(async () => {
  await h?.close();
});

describe('history', () => {
  it('is sent gzip-compressed to clients that accept it', async () => {
    const res = await fetch(`${h.url}/api/history?kind=noise_meter&fields=laeq&from=${T0}&to=${T0 + 60 * MIN}`, {
      headers: { cookie: viewer.cookie, 'accept-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect((await res.json()).series[0].points).toHaveLength(60);
  });

  it('returns raw series and 10-minute aggregates', async () => {
    const raw = await (await api(h.url, viewer, 'GET', `/api/history?kind=noise_meter&fields=laeq&from=${T0}&to=${T0 + 60 * MIN}`)).json();
    expect(raw.series).toHaveLength(1);
    expect(raw.series[0]).toMatchObject({ device: 'an-my-noise-1', ward: 'an-my', field: 'laeq' });
    expect(raw.series[0].points).toHaveLength(60);
    expect(raw.series[0].points[0]).toEqual([T0 + 1000, 50]);
    // The reading taken before the gateway's clock was synchronised says so.
    expect(raw.series[0].clock).toEqual([[T0 + MIN + 1000, 'unsynced']]);
    expect(raw).not.toHaveProperty('windowMs');

    const agg = await (
      await api(
        h.url,
        viewer,
        'GET',
        `/api/history?kind=noise_meter&fields=laeq&from=${T0}&to=${T0 + 60 * MIN}&windowMs=${10 * MIN}&aggregate=max&devices=an-my-noise-1`,
      )
    ).json();
    expect(agg.series[0].points).toHaveLength(6);
    for (const [, v] of agg.series[0].points) expect(v).toBe(59);
    // Windows say which of them hold a marked reading, and the answer says its window (marks name windows).
    expect(agg.windowMs).toBe(10 * MIN);
    expect(agg.series[0].clock).toEqual([[T0, 'unsynced']]);
    // A chart's width picks the window: the answer names the one picked.
    const fitted = await (
      await api(h.url, viewer, 'GET', `/api/history?kind=noise_meter&fields=laeq&from=${T0}&to=${T0 + 60 * MIN}&width=4`)
    ).json();
    expect(fitted.windowMs).toBe(30 * MIN);
    expect(fitted.series[0].clock).toEqual([[T0, 'unsynced']]);
  });

  it('exports CSV for Excel: BOM, city-local times with offset, names beside ids, units, file named by the range', async () => {
    const res = await api(h.url, viewer, 'GET', `/api/history.csv?kind=noise_meter&fields=laeq&from=${T0}&to=${T0 + 3 * MIN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const day = localDate(T0, 'Asia/Ho_Chi_Minh');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="noise_meter_${day}.csv"`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).trim().split(/\r\n/);
    expect(lines[0]).toBe('time,device,device_name,ward,ward_name,field,unit,value,clock');
    const local = (t: number) => new Date(t + 7 * 3_600_000).toISOString().slice(0, 19) + '+07:00';
    const name = h.city.devices.find((d) => d.id === 'an-my-noise-1')!.name;
    expect(lines.slice(1)).toEqual(
      [50, 51, 52].map(
        (v, i) => `${local(T0 + i * MIN + 1000)},an-my-noise-1,${name},an-my,An Mỹ,laeq,dBA,${v},${i === 1 ? 'unsynced' : ''}`,
      ),
    );
  });

  it("a CSV export says what its chart shows: reduce=sum folds a device's fields into one line", async () => {
    const res = await api(
      h.url,
      viewer,
      'GET',
      `/api/history.csv?kind=noise_meter&fields=laeq&from=${T0}&to=${T0 + 3 * MIN}&windowMs=${3 * MIN}&aggregate=max&reduce=sum`,
    );
    const lines = (await res.text()).trim().split(/\r\n/).slice(1);
    expect(lines.length).toBeGreaterThan(0);
    // The first window holds the reading taken before the gateway's clock was synchronised: its row says so.
    for (const [i, line] of lines.entries())
      expect(line).toMatch(new RegExp(`,an-my-noise-1,[^,]+,an-my,An Mỹ,sum,dBA,5\\d,${i === 0 ? 'unsynced' : ''}$`));
    expect((await api(h.url, viewer, 'GET', `/api/history.csv?kind=noise_meter&fields=laeq&reduce=median`)).status).toBe(400);
  });

  it('a CSV file covering several days is named by its first and last day; values carry no float noise', () => {
    expect(
      csvFileName('traffic_counter', Date.parse('2026-12-01T00:00:00+07:00'), Date.parse('2026-12-08T00:00:00+07:00'), 'Asia/Ho_Chi_Minh'),
    ).toBe('traffic_counter_2026-12-01_2026-12-07.csv');
    expect(localIsoString(Date.parse('2026-12-06T23:30:00Z'), 'Asia/Ho_Chi_Minh')).toBe('2026-12-07T06:30:00+07:00');
    const csv = seriesToCsv(
      [
        {
          device: 'x',
          ward: 'w',
          field: 'laeq',
          points: [
            [0, 58.800000000000004],
            [1, 1 / 3],
          ],
        },
      ],
      { city: h.city, kind: 'noise_meter' },
    );
    expect(
      csv
        .split('\r\n')
        .slice(1, 3)
        .map((l) => l.split(',').at(-2)),
    ).toEqual(['58.8', '0.333']);
  });

  it('rejects bad ranges with 400 naming the problem', async () => {
    const noFields = await api(h.url, viewer, 'GET', '/api/history?kind=noise_meter');
    expect(noFields.status).toBe(400);
    expect((await noFields.json()).message).toMatch(/fields/);
    expect((await api(h.url, viewer, 'GET', `/api/history?kind=noise_meter&fields=laeq&from=${T0}&to=${T0 - 1}`)).status).toBe(400);
    expect(
      (await api(h.url, viewer, 'GET', `/api/history?kind=noise_meter&fields=laeq&from=${T0 - 30 * 86_400_000}&to=${T0}`)).status,
    ).toBe(400);
    expect((await api(h.url, viewer, 'GET', `/api/history?kind=noise_meter&fields=laeq&aggregate=median&windowMs=60000`)).status).toBe(400);
  });
});

describe('latest, overview, device page, exports', () => {
  it('latest per device, filtered by kind and ward', async () => {
    const { readings } = await (await api(h.url, viewer, 'GET', '/api/latest?kind=noise_meter&ward=an-my')).json();
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({ device: 'an-my-noise-1', ts: T0 + 59 * MIN + 1000, values: { laeq: 59 } });
  });

  it('overview: VN_AQI level, noise vs the zone limit at local time, water stage, lamps, traffic', async () => {
    const body = await (await api(h.url, viewer, 'GET', '/api/overview')).json();
    expect(body.wards).toHaveLength(h.city.wards.length);
    const anMy = body.wards.find((w: { ward: string }) => w.ward === 'an-my');
    expect(anMy.aqi).toMatchObject({ value: 87, level: 'moderate', color: '#ffff00' });
    // Fresh as the station's newest reading, not as old as the start of the hour the value is keyed by.
    expect(anMy.aqi.ts).toBe(T0 + 59 * MIN);
    // an-my-noise-1 is in a special zone: 55 dB(A) by day.
    expect(anMy.noise).toMatchObject({ laeq: 59, limit: 55, zone: 'special' });
    expect(anMy.lights).toMatchObject({ on: 5, dimmed: 2, failed: 1, total: 8 });
    expect(anMy.traffic).toMatchObject({ flowPerHour: 46 * 60, congestion: 0.3 });
    expect(anMy.water).toBeNull();
    expect(anMy.alarms).toEqual({ critical: 0, major: 0, minor: 0, warning: 0 });
    const anPhu = body.wards.find((w: { ward: string }) => w.ward === 'an-phu');
    expect(anPhu.water).toMatchObject({ level: 3.2, alarmLevels: [2, 3, 4], stage: 2 });
  });

  it('device page carries the latest reading', async () => {
    const dev = await (await api(h.url, viewer, 'GET', '/api/devices/an-phu-water-1')).json();
    expect(dev.latest).toMatchObject({ values: { level: 3.2 } });
    expect((await api(h.url, viewer, 'GET', '/api/devices/nope')).status).toBe(404);
  });

  it('dead letters for technicians', async () => {
    const body = await (await api(h.url, tech, 'GET', `/api/dead-letters?from=${T0 - 1}&limit=10`)).json();
    expect(body.total).toBe(1);
    expect(body.deadLetters[0]).toMatchObject({ reason: 'laeq out of range', device: 'an-my-noise-1' });
  });

  it('NGSI-LD export uses Smart Data Models names', async () => {
    const res = await api(h.url, viewer, 'GET', '/api/export/ngsi-ld');
    expect(res.headers.get('content-type')).toMatch(/application\/ld\+json/);
    const entities = (await res.json()) as Array<Record<string, any>>;
    const air = entities.find((e) => e.id === 'urn:ngsi-ld:AirQualityObserved:an-my-air-1')!;
    expect(air.type).toBe('AirQualityObserved');
    expect(air.pm25).toMatchObject({ type: 'Property', value: 30, unitCode: 'GQ' });
    expect(air.relativeHumidity.value).toBeCloseTo(0.8);
    expect(air.airQualityIndex.value).toBe(87);
    expect(air.location.value).toEqual({ type: 'Point', coordinates: [expect.any(Number), expect.any(Number)] });
    const noise = entities.find((e) => e.type === 'NoiseLevelObserved')!;
    expect(noise.LAeq.value).toBe(59);
    const lamp8 = entities.find((e) => e.id === 'urn:ngsi-ld:Streetlight:an-my-light-1-lamp8')!;
    expect(lamp8.status.value).toBe('defectiveLamp');
    expect(entities.find((e) => e.id === 'urn:ngsi-ld:Streetlight:an-my-light-1-lamp6')!.powerState.value).toBe('low');
    expect(entities.find((e) => e.type === 'TrafficFlowObserved')!.intensity.value).toBe(46);
    expect(entities.find((e) => e.type === 'FloodMonitoring')!.floodLevelStatus.value).toBe('alert');
  });

  it('limits as loaded', async () => {
    const body = await (await api(h.url, viewer, 'GET', '/api/limits')).json();
    expect(body.noise.zones.special).toEqual({ day: 55, night: 45 });
    expect(body.aqi.levels).toHaveLength(6);
    // QCVN 05 ambient limits, for the limit lines on the environment charts.
    expect(body.air.limits.pm25).toEqual({ '24h': 50, year: 25 });
  });

  it('metrics and health endpoints answer', async () => {
    const m = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(m).toContain('dashboard_http_request_duration_seconds');
    expect(m).toContain('dashboard_ws_clients');
    const hz = await fetch(`${h.url}/healthz`);
    expect(hz.status).toBe(200);
    expect((await hz.json()).mqtt).toBe('connected');
  });
});
