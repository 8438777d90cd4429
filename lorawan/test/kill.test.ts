import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cityModelSchema, parseConfig, type CityModel } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker, type BrokerHandle } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngest, type IngestHandle } from '@tamky/ingest';
import { spawnPeer, startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { checkLoss, summaryLine } from '../../bench/faults/loss-checker';
import { readOutboxDir } from '../../bench/faults/outbox-seqs';
import { uplinkEvent } from './chirpstack-api';

/**
 * The connector (its CLI, its own process) killed with SIGKILL twice while a network server pours uplinks
 * (with late gateway copies mixed in) onto ChirpStack's broker: afterwards every uplink is stored exactly
 * once, and the loss checker of bench/faults finds the connector's sequence numbers 1..last each stored once.
 */
const GW = 'lns-kill';
const APP = 'a1b2c3d4-0000-4000-8000-00000000kill'.replace('kill', '0001');
const DEVICES = 8;
const PER_DEVICE = 250;
const REPO = join(import.meta.dirname, '../..');
const log = createLogger('lorawan-kill', { level: 'warn' });
const dir = tempDir('lorawan-kill');
const eui = (i: number) => `a8404100018200${String(i).padStart(2, '0')}`;
const city: CityModel = parseConfig(
  cityModelSchema,
  {
    id: 'kill-city',
    name: 'Kill',
    lat: 15.57,
    lon: 108.47,
    wards: [{ id: 'an-my', name: 'An Mỹ', type: 'phuong', lat: 15.57, lon: 108.48, map: { x: 50, y: 50 } }],
    gateways: [{ id: GW, ward: 'an-my', name: 'ChirpStack' }],
    devices: Array.from({ length: DEVICES }, (_, i) => ({
      id: `canal-${i}`,
      kind: 'water_level',
      name: `canal ${i}`,
      ward: 'an-my',
      gateway: GW,
      lat: 15.57,
      lon: 108.48,
      pollIntervalMs: 60_000,
      mountingHeightM: 5,
      lorawan: { devEui: eui(i), profile: 'dragino-ldds75' },
    })),
  },
  'kill.test.ts',
);

let chirpstackBroker: Peer & { url: string };
let broker: BrokerHandle;
let store: Awaited<ReturnType<typeof openStore>>;
let ingest: IngestHandle;
let connector: Peer | undefined;
let ns: MqttClient;
let configFile: string;
const outboxDir = join(dir, 'outbox');
const base = Date.now() - 3 * 3600_000;
/** Uplink k of device i: distinct time and distance, so each stored point names its uplink. */
const timeOf = (i: number, k: number) => base + k * 10_000 + i;
const distanceOf = (i: number, k: number) => 1000 + ((k * 7 + i) % 2000);
const frame = (i: number, k: number, copy = 0) => {
  const d = distanceOf(i, k);
  return uplinkEvent({
    devEui: eui(i),
    applicationId: APP,
    deduplicationId: `00000000-${String(i).padStart(4, '0')}-4000-8000-${String(k * 10 + copy).padStart(12, '0')}`,
    time: new Date(timeOf(i, k) + copy * 300),
    devAddr: `260b00${String(i).padStart(2, '0')}`,
    fCnt: k,
    fPort: 2,
    data: new Uint8Array([0x0c, 0xe4, d >> 8, d & 0xff, 0, 0, 0xfa, 1]),
    gateways: [{ id: `0016c001f10000${copy}0`, rssi: -100, snr: 3 }],
  });
};
const startConnectorProcess = () => {
  connector = spawnPeer(process.execPath, ['--import', 'tsx', join(REPO, 'lorawan/src/cli.ts'), '--config', configFile], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
};
const storedPoints = async () =>
  (
    await store.query({ kind: 'water_level', fields: ['distance'], from: 0, to: Date.now(), devices: city.devices.map((d) => d.id) })
  ).reduce((n, s) => n + s.points.length, 0);

beforeAll(async () => {
  chirpstackBroker = await startMosquitto();
  broker = await startBroker(
    {
      profile: 'development',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [{ id: GW, secretHash: await hashSecret('lns-secret', { N: 1024 }) }],
        services: [{ username: 'ingest', role: 'ingest', secretHash: await hashSecret('ingest-secret', { N: 1024 }) }],
      },
    },
    { logger: log },
  );
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') }, { logger: log });
  ingest = await startIngest(
    { mqtt: { url, username: 'ingest', password: 'ingest-secret', clientId: 'ingest-kill' }, limitsDir: join(REPO, 'config/limits') },
    { store, city, logger: log },
  );
  mkdirSync(outboxDir, { recursive: true });
  writeFileSync(join(dir, 'city.json'), JSON.stringify(city));
  configFile = join(dir, 'lorawan.yaml');
  writeFileSync(
    configFile,
    stringify({
      gatewayId: GW,
      mqtt: { url, username: GW, password: 'lns-secret', reconnect: { baseMs: 100, maxMs: 1000 } },
      chirpstack: { url: chirpstackBroker.url, clientId: 'tamky-lorawan-kill', applicationIds: [APP] },
      registry: { cityFile: join(dir, 'city.json') },
      profilesFile: join(REPO, 'config/lorawan/profiles.yaml'),
      // 'normal' survives a process crash (SIGKILL); 'full' is for power loss.
      outbox: { path: join(outboxDir, `${GW}.db`), synchronous: 'normal' },
    }),
  );
  ns = await mqtt.connectAsync(chirpstackBroker.url, { clientId: 'chirpstack-ns-kill' });
  startConnectorProcess();
  // The first frame, repeated (same event: the ledger absorbs the repeats) until the connector has subscribed and stored it.
  await waitFor(
    async () => {
      await ns.publishAsync(`application/${APP}/device/${eui(0)}/event/up`, frame(0, 0), { qos: 1 });
      return (await storedPoints()) === 1;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `the connector's first reading (${connector?.output().slice(-300)})` },
  );
});

afterAll(async () => {
  await connector?.stop();
  await ns?.endAsync();
  await ingest?.close();
  await store?.close();
  await broker?.close();
  await chirpstackBroker?.stop();
});

describe('LoRaWAN connector killed under load', () => {
  it('loses and duplicates nothing across two SIGKILLs', async () => {
    const topicOf = (i: number) => `application/${APP}/device/${eui(i)}/event/up`;
    const kills = new Set([Math.floor(PER_DEVICE / 3), Math.floor((2 * PER_DEVICE) / 3)]);
    for (let k = 0; k < PER_DEVICE; k++) {
      const batch: Array<Promise<unknown>> = [];
      for (let i = 0; i < DEVICES; i++) {
        // Device 0's first frame went out before (and goes again here: a redelivery).
        batch.push(ns.publishAsync(topicOf(i), frame(i, k), { qos: 1 }));
        // Every fifth frame also arrives as a late copy through another LoRa gateway.
        if (k % 5 === 0) batch.push(ns.publishAsync(topicOf(i), frame(i, k, 1), { qos: 1 }));
      }
      await Promise.all(batch);
      if (kills.has(k)) {
        // How far behind the connector is when it dies (what ChirpStack's broker must still hold for it).
        process.stdout.write(`kill at ${(k + 1) * DEVICES} frames published, ${readOutboxDir(outboxDir)[0]?.lastSeq ?? 0} committed\n`);
        await connector!.kill();
        startConnectorProcess();
      }
    }
    const total = DEVICES * PER_DEVICE;
    await waitFor(async () => (await storedPoints()) >= total, {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: `${total} readings stored`,
    }).catch(async (err: Error) => {
      const p = readOutboxDir(outboxDir)[0];
      const have = await store.query({
        kind: 'water_level',
        fields: ['distance'],
        from: 0,
        to: Date.now(),
        devices: city.devices.map((d) => d.id),
      });
      const missing: string[] = [];
      for (let i = 0; i < DEVICES; i++) {
        const ts = new Set(have.find((x) => x.device === `canal-${i}`)?.points.map((pt) => pt[0]));
        for (let k = 0; k < PER_DEVICE; k++) if (!ts.has(timeOf(i, k))) missing.push(`${i}/${k}`);
      }
      process.stdout.write(`missing (device/frame): ${missing.join(' ')}\n`);
      throw new Error(
        `${err.message}: stored ${await storedPoints()}, outbox lastSeq ${p?.lastSeq} pending ${p?.pending.length}, dead letters ${(await store.deadLetters({ limit: 3 })).map((l) => l.reason).join('; ')}; connector: ${connector?.output().slice(-1500)}`,
      );
    });

    const series = await store.query({
      kind: 'water_level',
      fields: ['distance'],
      from: 0,
      to: Date.now(),
      devices: city.devices.map((d) => d.id),
    });
    for (let i = 0; i < DEVICES; i++) {
      const points = series.find((s) => s.device === `canal-${i}`)!.points;
      expect(points).toEqual(Array.from({ length: PER_DEVICE }, (_, k) => [timeOf(i, k), distanceOf(i, k) / 1000]));
    }
    const produced = readOutboxDir(outboxDir);
    expect(produced).toHaveLength(1);
    expect(produced[0]!.lastSeq).toBe(total);
    const report = await checkLoss({ store, produced });
    process.stdout.write(`${summaryLine(report)}\n`);
    expect(report).toMatchObject({ produced: total, stored: total, missing: 0, duplicated: 0 });
  });
});
