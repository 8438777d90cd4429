import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { openStore } from '@tamky/store';
import { startInfluxd } from '@tamky/test-support';
import { api, login, startHarness, type Harness } from './helpers';

/**
 * Grafana's built-in InfluxDB data source against our /query over the embedded SQLite store, answered
 * like a real InfluxDB 1.6.7 holding the same data. The query texts are the ones Grafana's InfluxQL query
 * model renders (public/app/plugins/datasource/influxdb/influx_query_model.test.ts and
 * influxql_query_builder.test.ts in grafana/grafana), with the measurement and fields of this city, and
 * $timeFilter / $__interval substituted as its datasource.ts does (`time >= {from}ms and time <= {to}ms`).
 */
const run = promisify(execFile);
const HOUR = 3_600_000;
const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const NOW = T0 + 3 * HOUR;

let h: Harness;
let influx: Awaited<ReturnType<typeof startInfluxd>>;
let influxStore: TimeSeriesStore;
let token: string;

const DEVICES = [
  {
    kind: 'noise_meter',
    device: 'an-my-noise-1',
    gateway: 'gw-an-my',
    ward: 'an-my',
    values: (i: number) => ({ laeq: 50 + ((i * 7) % 13) + 0.25 }),
  },
  {
    kind: 'noise_meter',
    device: 'an-phu-noise-1',
    gateway: 'gw-an-phu',
    ward: 'an-phu',
    values: (i: number) => ({ laeq: 60 - ((i * 5) % 11) + 0.5 }),
  },
  {
    kind: 'air_station',
    device: 'an-my-air-1',
    gateway: 'gw-an-my',
    ward: 'an-my',
    values: (i: number) => ({ pm25: 20 + (i % 17), pm10: 40 + (i % 23) }),
  },
  {
    kind: 'air_station',
    device: 'an-phu-air-1',
    gateway: 'gw-an-phu',
    ward: 'an-phu',
    values: (i: number) => ({ pm25: 35 - (i % 9), pm10: 70 - (i % 5) }),
  },
];

function seed(): StoredReading[] {
  const out: StoredReading[] = [];
  // Every 30 s for 2 h; devices offset by a few ms so no two series share a timestamp.
  for (let i = 0; i < 240; i++)
    DEVICES.forEach((d, k) =>
      out.push({
        kind: d.kind,
        device: d.device,
        gateway: d.gateway,
        ward: d.ward,
        ts: T0 + i * 30_000 + 7 * k + 3,
        seq: i,
        values: d.values(i),
      }),
    );
  return out;
}

const timeFilter = (from: number, to: number) => `time >= ${from}ms and time <= ${to}ms`;
const TF = timeFilter(T0 + 10 * MIN, T0 + 70 * MIN);

/** [our query text, what it exercises] — every one answered alike by both servers. */
const GRAFANA_QUERIES: Array<[string, string]> = [
  [`SELECT mean("laeq") FROM "autogen"."noise_meter" WHERE ${TF} GROUP BY time(5m) fill(null)`, 'measurement only (Grafana default query)'],
  [`SELECT mean("laeq") FROM "autogen"."noise_meter" WHERE ("ward" = 'an-my') AND ${TF} GROUP BY time(1m)`, 'one tag condition'],
  [
    `SELECT mean("pm25") FROM "autogen"."air_station" WHERE ("device" = 'an-my-air-1' OR "device" = 'an-phu-air-1') AND ${TF} GROUP BY time(10m)`,
    'tags OR',
  ],
  [`SELECT mean("pm25") FROM "autogen"."air_station" WHERE ("ward" =~ /^an-p.*/) AND ${TF} GROUP BY time(10m)`, 'regex tag'],
  [`SELECT mean("laeq") FROM "autogen"."noise_meter" WHERE ${TF} GROUP BY time(5m), "device"`, 'group by tag'],
  [`SELECT mean("pm25") /100 AS "text" FROM "autogen"."air_station" WHERE ${TF} GROUP BY time(10m) fill(null)`, 'math and alias'],
  [`SELECT "laeq" FROM "autogen"."noise_meter" WHERE ${timeFilter(T0 + 10 * MIN, T0 + 20 * MIN)}`, 'raw field, no group by'],
  [`SELECT "laeq" FROM "autogen"."noise_meter" WHERE ${TF} GROUP BY time(1m) fill(0)`, 'raw field with GROUP BY time (an InfluxDB error)'],
  [
    `SELECT max("laeq"), min("laeq"), sum("laeq"), count("laeq") FROM "noise_meter" WHERE ${TF} GROUP BY time(15m), "ward" fill(none)`,
    'several selectors',
  ],
  [`SELECT last("pm10"), first("pm10") FROM "air_station" WHERE ${TF} GROUP BY time(20m), "device" fill(none)`, 'first and last'],
  [
    `SELECT mean("laeq") FROM "noise_meter" WHERE ${timeFilter(T0 + 30 * MIN + 15_000, T0 + 95 * MIN)} GROUP BY time(10m) fill(previous)`,
    'fill(previous), unaligned range',
  ],
  [`SELECT mean("pm25") FROM "air_station" WHERE ${TF} GROUP BY time(10m) fill(none) ORDER BY time DESC LIMIT 3`, 'order and limit'],
  ['SHOW MEASUREMENTS LIMIT 100', 'measurements'],
  ['SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)noise/ LIMIT 100', 'measurement filter'],
  ['SHOW TAG KEYS FROM "noise_meter"', 'tag keys'],
  ['SHOW TAG VALUES FROM "noise_meter" WITH KEY = "device"', 'tag values'],
  [`SHOW TAG VALUES FROM "air_station" WITH KEY = "device" WHERE "ward" = 'an-my'`, 'tag values with condition'],
  ['SHOW TAG VALUES WITH KEY = "ward"', 'tag values of every measurement'],
  ['SHOW FIELD KEYS FROM "air_station"', 'field keys'],
];

async function query(base: string, q: string, auth: { user: string; pass: string }, db = 'tamky'): Promise<{ status: number; body: any }> {
  const params = new URLSearchParams({ db, q, epoch: 'ms' });
  const res = await fetch(`${base}/query?${params}`, {
    headers: { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}` },
  });
  return { status: res.status, body: await res.json() };
}

/** Numbers compared to 1e-9 relative (two engines add floats in different orders). */
function expectSameAnswer(ours: unknown, theirs: unknown, path = '$'): void {
  if (typeof theirs === 'number' && typeof ours === 'number') {
    expect(Math.abs(ours - theirs), `${path}: ${ours} vs ${theirs}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(theirs)));
    return;
  }
  if (Array.isArray(theirs)) {
    expect(Array.isArray(ours), path).toBe(true);
    expect((ours as unknown[]).length, `${path} length`).toBe(theirs.length);
    theirs.forEach((t, i) => expectSameAnswer((ours as unknown[])[i], t, `${path}[${i}]`));
    return;
  }
  if (theirs && typeof theirs === 'object') {
    expect(ours && typeof ours === 'object', path).toBeTruthy();
    expect(Object.keys(ours as object).sort(), `${path} keys`).toEqual(Object.keys(theirs).sort());
    for (const [k, v] of Object.entries(theirs)) expectSameAnswer((ours as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  expect(ours, path).toEqual(theirs);
}

beforeAll(async () => {
  influx = await startInfluxd();
  influxStore = await openStore({ type: 'influxdb', api: 'v1', url: influx.url, database: 'tamky' });
  h = await startHarness({ now: () => NOW });
  const readings = seed();
  await influxStore.writeBatch(readings);
  await h.store.writeBatch(readings);
  const admin = await login(h.url, 'admin');
  const created = await api(h.url, admin, 'POST', '/api/tokens', { name: 'grafana', scopes: ['read:readings'] });
  expect(created.status).toBe(201);
  token = (await created.json()).text;
});

afterAll(async () => {
  await h?.close();
  await influxStore?.close();
  await influx?.stop();
});

describe("Grafana's InfluxQL over the embedded store, answered as InfluxDB 1.6.7 answers it", () => {
  for (const [q, what] of GRAFANA_QUERIES) {
    it(what, async () => {
      const theirs = await query(influx.url, q, { user: '', pass: '' });
      const ours = await query(h.url, q, { user: 'grafana', pass: token });
      expect(ours.status).toBe(theirs.status);
      expectSameAnswer(ours.body, theirs.body);
    });
  }

  it('answers several statements of one request in order, as Grafana sends a panel', async () => {
    const q = GRAFANA_QUERIES.slice(0, 3)
      .map(([s]) => s)
      .join(';');
    const theirs = await query(influx.url, q, { user: '', pass: '' });
    const ours = await query(h.url, q, { user: 'grafana', pass: token });
    expect(ours.body.results).toHaveLength(3);
    expectSameAnswer(ours.body, theirs.body);
  });

  it('refuses a syntax error with the status and wording InfluxDB uses', async () => {
    const q = 'SELECT mean("laeq") FRM "noise_meter"';
    const theirs = await query(influx.url, q, { user: '', pass: '' });
    const ours = await query(h.url, q, { user: 'grafana', pass: token });
    expect(theirs.status).toBe(400);
    expect(ours.status).toBe(400);
    expect(ours.body.error).toBe(theirs.body.error);
  });

  it('names an unknown database in the statement error, as InfluxDB does', async () => {
    const q = `SELECT mean("laeq") FROM "noise_meter" WHERE ${TF} GROUP BY time(5m)`;
    const theirs = await query(influx.url, q, { user: '', pass: '' }, 'nope');
    const ours = await query(h.url, q, { user: 'grafana', pass: token }, 'nope');
    expect(ours.body).toEqual(theirs.body);
  });
});

describe('the /query endpoint', () => {
  it('refuses requests without a valid token, and every write', async () => {
    expect((await query(h.url, 'SHOW MEASUREMENTS', { user: 'grafana', pass: 'wrong' })).status).toBe(401);
    const res = await fetch(`${h.url}/query?db=tamky&q=SHOW%20MEASUREMENTS`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'authorization failed' });
    for (const q of [
      'DROP MEASUREMENT "noise_meter"',
      'DELETE FROM "noise_meter"',
      `SELECT * INTO "copy" FROM "noise_meter" WHERE ${TF}`,
    ]) {
      const r = await query(h.url, q, { user: 'grafana', pass: token });
      expect(r.status, q).toBe(403);
    }
    const still = await query(h.url, 'SHOW MEASUREMENTS', { user: 'grafana', pass: token });
    expect(still.body.results[0].series[0].values).toEqual([['air_station'], ['noise_meter']]);
  });

  it("is read by Debian's influx command-line client (an independent InfluxDB client)", async () => {
    const port = new URL(h.url).port;
    const { stdout } = await run(
      'influx',
      [
        '-host',
        '127.0.0.1',
        '-port',
        port,
        '-username',
        'grafana',
        '-password',
        token,
        '-database',
        'tamky',
        '-format',
        'json',
        '-precision',
        'ms',
        '-execute',
        `SELECT max("laeq") FROM "noise_meter" WHERE ${TF} GROUP BY "ward"`,
      ],
      { timeout: 30_000 },
    );
    const answer = JSON.parse(stdout) as { results: Array<{ series: Array<{ tags: { ward: string }; values: Array<[number, number]> }> }> };
    const byWard = Object.fromEntries(answer.results[0]!.series.map((s) => [s.tags.ward, s.values[0]![1]]));
    // Independently from the seed: the largest laeq each noise meter produced in the range.
    const expected: Record<string, number> = {};
    for (const r of seed()) {
      if (r.kind !== 'noise_meter' || r.ts < T0 + 10 * MIN || r.ts > T0 + 70 * MIN) continue;
      expected[r.ward] = Math.max(expected[r.ward] ?? -Infinity, r.values.laeq!);
    }
    expect(byWard).toEqual(expected);
  });
});
