import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type StoreConfig } from '@tamky/store';
import { freePort, startInfluxd, startMosquitto, tempDir, waitFor } from '@tamky/test-support';
import { IngestChild } from './helpers/child';
import { airBatch, connectPublisher, publishTelemetry, storedSeqs, testCity } from './helpers/fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each store the city can run on, as ingest's config names it; InfluxDB is Debian's 1.6.7 in a temp dir. */
const STORES: Array<{ name: string; config: (dir: string, cleanups: Array<() => Promise<void>>) => Promise<StoreConfig> }> = [
  { name: 'SQLite', config: async (dir) => ({ type: 'sqlite', path: join(dir, 'readings.db') }) },
  {
    name: 'InfluxDB 1.6.7',
    config: async (_dir, cleanups) => {
      const influx = await startInfluxd();
      cleanups.push(() => influx.stop());
      return { type: 'influxdb', api: 'v1', url: influx.url, database: 'city' };
    },
  },
];

describe.each(STORES)('kill -9 under load ($name)', ({ config }) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('loses nothing and stores nothing twice across repeated SIGKILLs', async () => {
    const broker = await startMosquitto(process.env.MQ_DEBUG ? 'log_type all\nlog_dest file /tmp/mq.log' : '');
    cleanups.push(() => broker.stop());
    const dir = tempDir('ingest-kill');
    const storeConfig = await config(dir, cleanups);
    const child = new IngestChild(
      dir,
      { mqtt: { url: broker.url, clientId: 'ingest-kill' }, store: storeConfig, batch: { maxReadings: 1000, maxDelayMs: 100 } },
      testCity(),
      await freePort(),
    );
    cleanups.push(() => child.stop());
    await child.start();

    const pub = await connectPublisher(broker.url);
    cleanups.push(() => pub.endAsync());
    const gateways = ['gw-a', 'gw-b'] as const;
    const MESSAGES = 150;
    const PER = 100;
    const ts0 = Date.UTC(2025, 0, 1);
    let published = 0;
    const publishing = (async () => {
      for (let i = 0; i < MESSAGES; i++) {
        for (const gw of gateways) await publishTelemetry(pub, gw, airBatch(gw, `${gw}-air`, i * PER, PER, ts0));
        published += PER * gateways.length;
        await sleep(40);
      }
    })();

    let kills = 0;
    for (let k = 0; k < 3; k++) {
      await sleep(600 + k * 300);
      await child.kill();
      kills++;
      await sleep(200);
      await child.start();
    }
    await publishing;
    expect(kills).toBe(3);
    expect(published).toBe(MESSAGES * PER * gateways.length);

    const store = await openStore(storeConfig, { readonly: true });
    cleanups.push(() => store.close());
    const expected = Array.from({ length: MESSAGES * PER }, (_, i) => i);
    for (const gw of gateways) {
      await waitFor(async () => (await storedSeqs(store, gw)).length >= expected.length, {
        what: `all of ${gw} stored`,
        timeoutMs: 40_000,
        intervalMs: 250,
      }).catch(async (err) => {
        const have = new Set(await storedSeqs(store, gw));
        const missing = expected.filter((s) => !have.has(s));
        throw new Error(
          `${String(err)}; ${have.size} stored, missing ${missing.length} messages ${[...new Set(missing.map((m) => Math.floor(m / PER)))].join(',')}; ingest output: ${child.output().slice(-3000)}`,
        );
      });
      expect(await storedSeqs(store, gw)).toEqual(expected);
    }
  });
});
