import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { provisionDynsec } from '@tamky/broker/mosquitto';
import { openStore } from '@tamky/store';
import { freePort, startInfluxd, startMosquittoDynsec, tempDir, waitFor } from '@tamky/test-support';
import { ingestConfigSchema } from '../src/config';
import { IngestChild } from './helpers/child';
import { airBatch, publishTelemetry, storedSeqs, testCity } from './helpers/fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GATEWAYS = ['gw-a', 'gw-b', 'gw-c'] as const;
const secretOf = (name: string) => `secret-of-${name}-0123`;

/** A counter from an ingest child's /metrics (0 when absent). */
async function metric(child: IngestChild, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${child.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('ingest config: MQTT 5 shared subscriptions', () => {
  it('refuses a shared group without MQTT 5, or together with partitions, naming the field', () => {
    const v4 = ingestConfigSchema.safeParse({ mqtt: { url: 'mqtt://x', sharedGroup: 'ingest' } });
    expect(v4.success).toBe(false);
    expect(JSON.stringify(v4.error?.issues)).toContain('"protocolVersion"');
    const partitioned = ingestConfigSchema.safeParse({
      mqtt: { url: 'mqtt://x', sharedGroup: 'ingest', protocolVersion: 5 },
      partition: { index: 0, count: 2 },
    });
    expect(partitioned.success).toBe(false);
    expect(JSON.stringify(partitioned.error?.issues)).toContain('"count"');
    expect(ingestConfigSchema.parse({ mqtt: { url: 'mqtt://x', sharedGroup: 'ingest', protocolVersion: 5 } }).mqtt.sessionExpiryS).toBe(
      0xffffffff,
    );
  });
});

describe('gateways → Mosquitto 2 (dynamic security) → 3 ingest instances on $share/ingest → one InfluxDB', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('stores every reading exactly once while one instance is killed with SIGKILL mid-run', async () => {
    const broker = await startMosquittoDynsec();
    cleanups.push(() => broker.stop());
    await provisionDynsec({
      admin: { url: broker.url, ...broker.admin },
      ingestShareGroup: 'ingest',
      gateways: GATEWAYS.map((id) => ({ id, secret: secretOf(id) })),
      services: [{ username: 'ingest', secret: secretOf('ingest'), role: 'ingest' }],
    });
    const influx = await startInfluxd();
    cleanups.push(() => influx.stop());
    const storeConfig = { type: 'influxdb' as const, api: 'v1' as const, url: influx.url, database: 'city' };

    const dir = tempDir('ingest-shared');
    const instances: IngestChild[] = [];
    for (let i = 1; i <= 3; i++) {
      const child = new IngestChild(
        dir,
        {
          mqtt: {
            url: broker.url,
            username: 'ingest',
            password: secretOf('ingest'),
            clientId: `ingest-${i}`,
            protocolVersion: 5,
            sharedGroup: 'ingest',
          },
          store: storeConfig,
          batch: { maxReadings: 1000, maxDelayMs: 100 },
          registry: { follow: true, startWaitMs: 0 },
        },
        testCity(),
        await freePort(),
      );
      cleanups.push(() => child.stop());
      instances.push(child);
    }
    // One after another: three tsx start-ups at once triple each one's wait on a loaded machine.
    for (const c of instances) await c.start();

    // The gateways, as the edge connects: MQTT 3.1.1, their own credentials, their id as client id.
    const publishers = new Map<string, MqttClient>();
    for (const gw of GATEWAYS) {
      const client = await mqtt.connectAsync(broker.url, {
        username: gw,
        password: secretOf(gw),
        clientId: gw,
        clean: true,
        reconnectPeriod: 500,
      });
      cleanups.push(() => client.endAsync());
      publishers.set(gw, client);
    }
    const MESSAGES = 120;
    const PER = 100;
    const ts0 = Date.UTC(2025, 0, 1);
    const publishing = (async () => {
      for (let i = 0; i < MESSAGES; i++) {
        await Promise.all(GATEWAYS.map((gw) => publishTelemetry(publishers.get(gw)!, gw, airBatch(gw, `${gw}-air`, i * PER, PER, ts0))));
        await sleep(30);
      }
    })();

    // Mid-run, with messages in flight to it: SIGKILL one instance, and restart it as its supervisor would.
    const victim = instances[1]!;
    await waitFor(async () => (await metric(victim, 'ingest_points_total')) > 0, {
      what: 'the victim to store something',
      timeoutMs: 20_000,
    }).catch(async (err) => {
      const counts = await Promise.all(instances.map(async (c) => `${await metric(c, 'ingest_points_total')}`));
      throw new Error(`${String(err)}; points per instance ${counts.join(', ')}; its output: ${victim.output().slice(-3000)}`);
    });
    await victim.kill();
    await sleep(1500);
    await victim.start();
    await publishing;

    const store = await openStore(storeConfig, { readonly: true });
    cleanups.push(() => store.close());
    const expected = Array.from({ length: MESSAGES * PER }, (_, i) => i);
    for (const gw of GATEWAYS) {
      await waitFor(async () => (await storedSeqs(store, gw)).length >= expected.length, {
        what: `all of ${gw} stored`,
        timeoutMs: 40_000,
        intervalMs: 250,
      }).catch(async (err) => {
        const have = new Set(await storedSeqs(store, gw));
        const missing = expected.filter((s) => !have.has(s));
        throw new Error(`${String(err)}; ${have.size} stored, ${missing.length} missing (first ${missing.slice(0, 5).join(',')})`);
      });
      // Sorted and compared whole: a lost reading leaves a gap, a duplicated one a repeat.
      expect(await storedSeqs(store, gw)).toEqual(expected);
    }
    // The broker spread the work: the two instances never killed each stored a share of it.
    for (const survivor of [instances[0]!, instances[2]!]) expect(await metric(survivor, 'ingest_points_total')).toBeGreaterThan(0);
  });
});
