import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startInfluxd, startVictoriaMetrics, waitFor } from '@tamky/test-support';
import { openStore, readingToLine, type InfluxStore } from '../src';
import { T0, reading } from './contract';

let influxd: Awaited<ReturnType<typeof startInfluxd>>;
let vm: Awaited<ReturnType<typeof startVictoriaMetrics>>;
beforeAll(async () => {
  [influxd, vm] = await Promise.all([startInfluxd(), startVictoriaMetrics()]);
});
afterAll(async () => {
  await Promise.all([influxd?.stop(), vm?.stop()]);
});

/** A local HTTP server answering every request with `status`; counts the requests it saw. */
async function refusingServer(status: number): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'unavailable', message: 'overloaded' })),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('InfluxDB adapter', () => {
  it('escapes measurement, tags and fields in line protocol', () => {
    expect(
      readingToLine(
        reading({
          kind: 'air quality',
          device: 'a,b=c d',
          ward: 'Hòa Thuận',
          ts: 1_700_000_000_123,
          seq: 42,
          values: { pm25: 1.5, temp: -2 },
        }),
      ),
    ).toBe('air\\ quality,device=a\\,b\\=c\\ d,gateway=gw-1,ward=Hòa\\ Thuận pm25=1.5,temp=-2,seq=42i 1700000000123000042');
    // ns below the ms: seq mod 10^6, so readings of one ms with different seqs are different points; derived values (seq -1) sit on the ms.
    expect(readingToLine(reading({ device: 'x', ts: 1_700_000_000_123, seq: 12_345_678, values: { v: 1 } }))).toMatch(
      / 1700000000123345678$/,
    );
    expect(readingToLine(reading({ device: 'x', ts: 1_700_000_000_123, seq: -1, values: { v: 1 } }))).toMatch(/ 1700000000123000000$/);
    expect(() => readingToLine(reading({ device: 'x', ward: 'a\nb', ts: 1, values: { v: 1 } }))).toThrow(/newline/);
  });

  it('v1 /write to InfluxDB 1.6.7: awkward names and values read back exactly through InfluxQL', async () => {
    const store = await openStore({ type: 'influxdb', url: influxd.url, api: 'v1', database: 'odd "db" name' });
    const odd = reading({
      kind: 'air "q", x',
      device: 'dev,1=2 3',
      ward: "Hòa Thuận 'x'",
      gateway: 'gw\\1',
      ts: T0 + 123,
      seq: 2 ** 40,
      values: { pm2_5: 1e-7, big: 1.2345678901234567e20 },
    });
    await store.writeBatch([odd]);
    expect(await store.latest()).toEqual([odd]);
    expect(
      await store.query({ kind: odd.kind, fields: ['pm2_5', 'big'], from: T0, to: T0 + 1000, devices: [odd.device], ward: odd.ward }),
    ).toEqual([
      { device: odd.device, ward: odd.ward, field: 'pm2_5', points: [[T0 + 123, 1e-7]] },
      { device: odd.device, ward: odd.ward, field: 'big', points: [[T0 + 123, 1.2345678901234567e20]] },
    ]);
    expect(await store.sequences('gw\\1')).toEqual([2 ** 40]);
    // stored as an integer field, as loss checking expects
    const types = await (store as InfluxStore).influxql(`SHOW FIELD KEYS FROM "air \\"q\\", x"`);
    expect(types[0]?.values).toEqual(
      expect.arrayContaining([
        ['seq', 'integer'],
        ['pm2_5', 'float'],
      ]),
    );
    await store.close();
  });

  it('v2 client → /api/v2/write (VictoriaMetrics): each field becomes {kind}_{field} with the tags as labels', async () => {
    const store = await openStore({ type: 'influxdb', url: vm.url, api: 'v2', bucket: 'tamky', org: 'city', token: 'ignored' });
    await store.writeBatch([
      reading({ kind: 'kindv2', device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 12.5 } }),
      reading({ kind: 'kindv2', device: 'aq-01', ts: T0 + 2_000, seq: 2, values: { pm25: 13.5 } }),
      reading({ kind: 'kindv2', device: 'aq-02', ward: 'hoa-thuan', ts: T0 + 1_000, seq: 3, values: { pm25: 7 } }),
    ]);
    type Exported = { metric: Record<string, string>; values: number[]; timestamps: number[] };
    const exported = await waitFor(
      async () => {
        await fetch(`${vm.url}/internal/force_flush`);
        const res = await fetch(
          `${vm.url}/api/v1/export?${new URLSearchParams({ 'match[]': '{__name__=~"kindv2_.*"}', start: String(T0 / 1000 - 60) })}`,
        );
        const lines = (await res.text())
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Exported);
        return lines.length === 4 ? lines : undefined;
      },
      { what: 'VictoriaMetrics to export the 4 series', timeoutMs: 30_000, intervalMs: 250 },
    );
    const byKey = Object.fromEntries(exported.map((e) => [`${e.metric.__name__}/${e.metric.device}`, e]));
    expect(byKey['kindv2_pm25/aq-01']).toMatchObject({
      metric: { device: 'aq-01', gateway: 'gw-1', ward: 'an-my' },
      values: [12.5, 13.5],
      timestamps: [T0 + 1_000, T0 + 2_000],
    });
    expect(byKey['kindv2_pm25/aq-02']).toMatchObject({
      metric: { device: 'aq-02', ward: 'hoa-thuan' },
      values: [7],
      timestamps: [T0 + 1_000],
    });
    expect(byKey['kindv2_seq/aq-01']).toMatchObject({ values: [1, 2] });
    await store.close();
  });

  for (const api of ['v1', 'v2'] as const) {
    it(`${api}: writeBatch rejects on HTTP 503 and on a closed port, without retrying behind the caller's back`, async () => {
      const server = await refusingServer(503);
      const config = { type: 'influxdb' as const, api, database: 'db', bucket: 'b', org: 'o', createDatabase: false, timeoutMs: 5_000 };
      const refusing = await openStore({ ...config, url: server.url });
      await expect(refusing.writeBatch([reading({ device: 'aq-01', ts: T0, values: { pm25: 1 } })])).rejects.toThrow(/503/);
      const writes = () => server.requests.filter((r) => r.includes('write'));
      expect(writes()).toHaveLength(1);
      expect(writes()[0]).toMatch(
        api === 'v1' ? /^POST \/write\?db=db&precision=ns/ : /^POST \/api\/v2\/write\?org=o&bucket=b&precision=ns/,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(writes()).toHaveLength(1); // nothing queued for a background retry
      await server.close();
      const closed = await openStore({ ...config, url: `http://127.0.0.1:${await freePort()}` });
      await expect(closed.writeBatch([reading({ device: 'aq-01', ts: T0, values: { pm25: 1 } })])).rejects.toThrow();
      await expect(closed.writeDeadLetters([{ ts: T0, topic: 't', gateway: null, device: null, reason: 'r', raw: '' }])).rejects.toThrow();
    });
  }

  it('v1: a write the server never answers rejects after timeoutMs, and the next write goes through', async () => {
    let answer = false;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => answer && res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const store = await openStore({ type: 'influxdb', url, api: 'v1', database: 'db', createDatabase: false, timeoutMs: 300 });
      const started = Date.now();
      await expect(store.writeBatch([reading({ device: 'aq-01', ts: T0, values: { pm25: 1 } })])).rejects.toThrow(
        /unreachable: no answer within 300 ms/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      answer = true;
      await store.writeBatch([reading({ device: 'aq-01', ts: T0 + 1, values: { pm25: 2 } })]);
      await store.close();
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('writeBatch rejects once influxd is killed mid-run', async () => {
    const own = await startInfluxd();
    const store = await openStore({ type: 'influxdb', url: own.url, api: 'v1', database: 'stopping' });
    await store.writeBatch([reading({ device: 'aq-01', ts: T0, seq: 1, values: { pm25: 1 } })]);
    await own.kill();
    await expect(store.writeBatch([reading({ device: 'aq-01', ts: T0 + 1, seq: 2, values: { pm25: 2 } })])).rejects.toThrow(/unreachable/);
  });

  it('v1 with gzip: true sends a gzip body, which InfluxDB 1.6.7 accepts', async () => {
    // What goes on the wire, seen by a local server…
    let seen: { encoding?: string; body: string } | undefined;
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST')
          seen = { encoding: req.headers['content-encoding'], body: gunzipSync(Buffer.concat(chunks)).toString('utf8') };
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const rows = Array.from({ length: 50 }, (_, i) => reading({ device: 'gz-1', ts: T0 + i * 1000, seq: i, values: { pm25: i / 4 } }));
    try {
      const capture = await openStore({
        type: 'influxdb',
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        api: 'v1',
        database: 'gz',
        createDatabase: false,
        gzip: true,
      });
      await capture.writeBatch(rows);
      expect(seen).toEqual({ encoding: 'gzip', body: rows.map(readingToLine).join('\n') });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    // …and the real server decompresses it.
    const store = await openStore({ type: 'influxdb', url: influxd.url, api: 'v1', database: 'gzipped', gzip: true });
    await store.writeBatch(rows);
    const [series] = await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + 60_000 });
    expect(series!.points).toEqual(rows.map((r) => [r.ts, r.values.pm25]));
    await store.close();
  });

  it('a read-only handle refuses writes', async () => {
    const store = await openStore({ type: 'influxdb', url: influxd.url, api: 'v1', database: 'ro' }, { readonly: true });
    await expect(store.writeBatch([reading({ device: 'aq-01', ts: T0, values: { pm25: 1 } })])).rejects.toThrow(/read-only/);
  });
});
