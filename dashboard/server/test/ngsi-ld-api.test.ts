import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { api, login, startHarness, type Harness } from './helpers';

/**
 * The read-only NGSI-LD API a FIWARE context broker or the provincial IOC pulls: entities by type and id
 * (normalized and keyValues), types, the temporal API, ward-limited tokens, ProblemDetails errors. The
 * field rules checked are those of the Smart Data Models schemas as summarised in
 * shared/domain/smart-data-models.md (required attributes, 0–1 ratios, Streetlight status values).
 */
const T0 = Date.UTC(2026, 11, 1, 3, 0, 0);
const MIN = 60_000;
let h: Harness;
let token: string;
let anMyToken: string;

const get = (path: string, t = token, accept = 'application/json') =>
  fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${t}`, accept } });

const REQUIRED: Record<string, string[]> = {
  AirQualityObserved: ['id', 'type', 'dateObserved', 'location'],
  NoiseLevelObserved: ['id', 'type', 'dateObservedFrom', 'dateObservedTo', 'location'],
  TrafficFlowObserved: ['id', 'type', 'dateObserved'],
  Streetlight: ['id', 'type', 'location', 'status'],
  WaterObserved: ['id', 'type', 'location', 'dateObserved'],
  FloodMonitoring: ['id', 'type'],
  StreetlightControlCabinet: ['id', 'type', 'location', 'refStreetlightGroup', 'workingMode'],
};
/** Attributes the Streetlighting schemas type as arrays of entity ids. */
const ID_LISTS: Record<string, string[]> = { Streetlight: ['refDevice'], StreetlightControlCabinet: ['refDevice', 'refStreetlightGroup'] };
const RATIOS = ['relativeHumidity', 'occupancy', 'illuminanceLevel'];
const STREETLIGHT_STATUS = ['ok', 'defectiveLamp', 'columnIssue', 'brokenLantern'];

beforeAll(async () => {
  h = await startHarness({ now: () => T0 + 60 * MIN });
  const r = (
    kind: string,
    device: string,
    gateway: string,
    ward: string,
    ts: number,
    values: Record<string, number>,
    seq = 0,
  ): StoredReading => ({ kind, device, gateway, ward, ts, seq, values });
  const readings: StoredReading[] = [];
  for (let i = 0; i < 30; i++)
    readings.push(r('noise_meter', 'an-my-noise-1', 'gw-an-my', 'an-my', T0 + i * MIN, { laeq: 50 + (i % 7) }, i));
  readings.push(r('noise_meter', 'an-phu-noise-1', 'gw-an-phu', 'an-phu', T0 + 29 * MIN, { laeq: 66 }, 1));
  readings.push(
    r('air_station', 'an-my-air-1', 'gw-an-my', 'an-my', T0 + 59 * MIN, { pm25: 30, pm10: 60, humidity: 80, temperature: 31 }, 100),
  );
  readings.push(r('vn_aqi', 'an-my-air-1', 'gw-an-my', 'an-my', T0, { aqi: 87.4 }, -1));
  readings.push(r('water_level', 'an-phu-water-1', 'gw-an-phu', 'an-phu', T0 + 59 * MIN, { level: 3.2, distance: 2.8 }, 5));
  const lamps: Record<string, number> = {};
  for (let i = 1; i <= 8; i++) [lamps[`lamp${i}_level`], lamps[`lamp${i}_status`]] = [i <= 5 ? 100 : 50, i === 8 ? 0b10 : 0b100];
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
  const admin = await login(h.url, 'admin');
  token = (
    (await (await api(h.url, admin, 'POST', '/api/tokens', { name: 'provincial IOC', scopes: ['read:readings'] })).json()) as {
      text: string;
    }
  ).text;
  anMyToken = (
    (await (await api(h.url, admin, 'POST', '/api/tokens', { name: 'An Mỹ', scopes: ['read:readings'], wards: ['an-my'] })).json()) as {
      text: string;
    }
  ).text;
});
afterAll(async () => {
  await h?.close();
});

describe('NGSI-LD entities', () => {
  it('are queried by type in keyValues form, each with the attributes its Smart Data Model requires', async () => {
    for (const type of Object.keys(REQUIRED)) {
      const res = await get(`/ngsi-ld/v1/entities?type=${type}&options=keyValues&limit=1000`);
      expect(res.status, type).toBe(200);
      expect(res.headers.get('link')).toMatch(/ngsi-ld-core-context\.jsonld>; rel="http:\/\/www\.w3\.org\/ns\/json-ld#context"/);
      const list = (await res.json()) as Array<Record<string, unknown>>;
      expect(list.length, type).toBeGreaterThan(0);
      for (const e of list) {
        expect(e.type).toBe(type);
        for (const key of REQUIRED[type]!) expect(e[key], `${type}.${key}`).toBeDefined();
        expect(String(e.id)).toMatch(new RegExp(`^urn:ngsi-ld:${type}:`));
        for (const ratio of RATIOS) {
          if (!(ratio in e)) continue;
          expect(e[ratio] as number).toBeGreaterThanOrEqual(0);
          expect(e[ratio] as number).toBeLessThanOrEqual(1);
        }
        if (type === 'Streetlight') expect(STREETLIGHT_STATUS).toContain(e.status);
        if (type === 'StreetlightControlCabinet') expect(['automatic', 'manual', 'semiautomatic']).toContain(e.workingMode);
        for (const key of ID_LISTS[type] ?? []) expect(e[key], `${type}.${key}`).toEqual([expect.stringMatching(/^urn:ngsi-ld:/)]);
        if ('location' in e) expect(e.location).toMatchObject({ type: 'Point', coordinates: [expect.any(Number), expect.any(Number)] });
      }
    }
    const air = (await (await get('/ngsi-ld/v1/entities?type=AirQualityObserved&options=keyValues')).json()) as Array<
      Record<string, unknown>
    >;
    expect(air.find((e) => e.id === 'urn:ngsi-ld:AirQualityObserved:an-my-air-1')).toMatchObject({
      pm25: 30,
      relativeHumidity: 0.8,
      airQualityIndex: 87,
      dateObserved: new Date(T0 + 59 * MIN).toISOString(),
    });
  });

  it('are normalized by default, retrieved by id, and JSON-LD with @context when asked for', async () => {
    const res = await get('/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:an-my-noise-1', token, 'application/ld+json');
    expect(res.headers.get('content-type')).toMatch(/application\/ld\+json/);
    const e = (await res.json()) as Record<string, any>;
    expect(e['@context']).toEqual(expect.arrayContaining(['https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld']));
    expect(e.LAeq).toMatchObject({ type: 'Property', value: 50 + (29 % 7), unitCode: '2N' });
    const byIds = (await (
      await get(
        '/ngsi-ld/v1/entities?id=urn:ngsi-ld:NoiseLevelObserved:an-my-noise-1,urn:ngsi-ld:WaterObserved:an-phu-water-1&attrs=LAeq,waterLevel',
      )
    ).json()) as Array<Record<string, any>>;
    expect(byIds.map((x) => x.id).sort()).toEqual([
      'urn:ngsi-ld:NoiseLevelObserved:an-my-noise-1',
      'urn:ngsi-ld:WaterObserved:an-phu-water-1',
    ]);
    expect(Object.keys(byIds.find((x) => x.type === 'WaterObserved')!).sort()).toEqual(['id', 'type', 'waterLevel']);
    const types = (await (await get('/ngsi-ld/v1/types')).json()) as { typeList: string[] };
    expect(types.typeList).toEqual(
      expect.arrayContaining([
        'AirQualityObserved',
        'FloodMonitoring',
        'NoiseLevelObserved',
        'Streetlight',
        'TrafficFlowObserved',
        'WaterObserved',
      ]),
    );
  });

  it('answer errors as NGSI-LD ProblemDetails', async () => {
    const noFilter = await get('/ngsi-ld/v1/entities');
    expect(noFilter.status).toBe(400);
    expect(await noFilter.json()).toMatchObject({ type: 'https://uri.etsi.org/ngsi-ld/errors/BadRequestData' });
    const missing = await get('/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:nowhere');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound' });
    const anonymous = await fetch(`${h.url}/ngsi-ld/v1/entities?type=WaterObserved`);
    expect(anonymous.status).toBe(401);
  });

  it('limited to a ward show only that ward', async () => {
    const all = (await (
      await get('/ngsi-ld/v1/entities?type=NoiseLevelObserved,WaterObserved&options=keyValues', anMyToken)
    ).json()) as Array<Record<string, unknown>>;
    expect(all.map((e) => e.id)).toEqual(['urn:ngsi-ld:NoiseLevelObserved:an-my-noise-1']);
    expect((await get('/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:an-phu-water-1', anMyToken)).status).toBe(404);
  });
});

describe('NGSI-LD temporal API', () => {
  it('answers an attribute history between two times, as instances and as temporalValues', async () => {
    const q = `timerel=between&timeAt=${new Date(T0 + 10 * MIN).toISOString()}&endTimeAt=${new Date(T0 + 14 * MIN).toISOString()}`;
    const e = (await (await get(`/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:NoiseLevelObserved:an-my-noise-1?${q}`)).json()) as {
      LAeq: Array<{ value: number; observedAt: string; unitCode: string }>;
    };
    expect(e.LAeq.map((i) => [i.value, i.observedAt])).toEqual(
      [10, 11, 12, 13, 14].map((i) => [50 + (i % 7), new Date(T0 + i * MIN).toISOString()]),
    );
    expect(e.LAeq[0]!.unitCode).toBe('2N');
    const simplified = (await (
      await get(`/ngsi-ld/v1/temporal/entities?type=NoiseLevelObserved&${q}&options=temporalValues`)
    ).json()) as Array<{ id: string; LAeq?: { values: Array<[number, string]> } }>;
    expect(simplified.find((x) => x.id.endsWith('an-my-noise-1'))!.LAeq!.values).toHaveLength(5);
    const lastN = (await (
      await get(
        `/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:NoiseLevelObserved:an-my-noise-1?timerel=after&timeAt=${new Date(T0).toISOString()}&lastN=3`,
      )
    ).json()) as { LAeq: unknown[] };
    expect(lastN.LAeq).toHaveLength(3);
  });

  it('sums a lane into intensity and scales percentages to ratios', async () => {
    const q = `timerel=after&timeAt=${new Date(T0).toISOString()}`;
    const lane = (await (
      await get(`/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:TrafficFlowObserved:an-my-traffic-1-lane1?${q}`)
    ).json()) as Record<string, Array<{ value: number }>>;
    expect(lane.intensity!.map((i) => i.value)).toEqual([46]);
    expect(lane.occupancy!.map((i) => i.value)).toEqual([0.3]);
    const lamp = (await (await get(`/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Streetlight:an-my-light-1-lamp7?${q}`)).json()) as Record<
      string,
      Array<{ value: number }>
    >;
    expect(lamp.illuminanceLevel!.map((i) => i.value)).toEqual([0.5]);
  });

  it('refuses a request without a time relation, or longer than the raw history it serves', async () => {
    expect((await get('/ngsi-ld/v1/temporal/entities?type=NoiseLevelObserved')).status).toBe(400);
    const long = await get(
      `/ngsi-ld/v1/temporal/entities?type=NoiseLevelObserved&timerel=between&timeAt=${new Date(T0 - 30 * 86_400_000).toISOString()}&endTimeAt=${new Date(T0).toISOString()}`,
    );
    expect(long.status).toBe(400);
  });
});
