import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics, type CityModel, type TimeSeriesStore } from '@tamky/protocol';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle } from '../src/index';
import { airBatch, connectPublisher, LIMITS_DIR, publishTelemetry, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

/** The device registry as the dashboard publishes it: retained, the city model as JSON. */
async function publishRegistry(client: MqttClient, payload: CityModel | string): Promise<void> {
  await client.publishAsync(topics.configRegistry(), typeof payload === 'string' ? payload : JSON.stringify(payload), {
    qos: 1,
    retain: true,
  });
}

const metric = async (ingest: IngestHandle, name: string, labels: Record<string, string> = {}) => {
  const values = (await ingest.metrics.getSingleMetric(name)!.get()).values;
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
};

describe('ingest follows the device registry published on config/registry', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let pub: MqttClient;
  const fileCity = testCity();
  const ts0 = Date.UTC(2025, 6, 1, 3, 0, 0);
  const reasonsOf = async (device: string) =>
    (await store.deadLetters({ limit: 500 })).filter((l) => l.device === device).map((l) => l.reason);

  beforeAll(async () => {
    broker = await startMosquitto();
    ({ store } = await sqliteStore());
    ingest = await startIngest(
      { mqtt: { url: broker.url, clientId: 'ingest-registry' }, limitsDir: LIMITS_DIR, batch: { maxReadings: 500, maxDelayMs: 20 } },
      { store, city: fileCity, logger: quietLog() },
    );
    pub = await connectPublisher(broker.url);
  });

  afterAll(async () => {
    await pub?.endAsync();
    await ingest?.close();
    await store?.close();
    await broker?.stop();
  });

  it("stores a newly registered device's telemetry instead of dead-lettering it, and dead-letters a removed device", async () => {
    // Before the registry knows it: dead letter.
    await publishTelemetry(pub, 'gw-b', airBatch('gw-b', 'gw-b-air2', 0, 3, ts0));
    await waitFor(async () => (await reasonsOf('gw-b-air2')).length === 3, { what: 'dead letters of the unregistered device' });
    expect(await reasonsOf('gw-b-air2')).toEqual(Array(3).fill('unknown_device: device "gw-b-air2" is not in the registry'));

    // The admin adds gw-b-air2 and removes gw-c-noise.
    const edited: CityModel = {
      ...fileCity,
      devices: [
        ...fileCity.devices.filter((d) => d.id !== 'gw-c-noise'),
        { ...fileCity.devices.find((d) => d.id === 'gw-b-air')!, id: 'gw-b-air2', name: 'new air station' },
      ],
    };
    await publishRegistry(pub, edited);
    await waitFor(async () => (await metric(ingest, 'ingest_registry_updates_total', { result: 'applied' })) === 1, {
      what: 'registry applied',
    });
    expect(await metric(ingest, 'ingest_registry_devices')).toBe(edited.devices.length);

    await publishTelemetry(pub, 'gw-b', airBatch('gw-b', 'gw-b-air2', 3, 5, ts0));
    await waitFor(async () => (await storedSeqs(store, 'gw-b')).length === 5, { what: "the new device's readings stored" });
    expect(await storedSeqs(store, 'gw-b')).toEqual([3, 4, 5, 6, 7]);
    const series = await store.query({ kind: 'air_station', fields: ['pm25'], from: ts0, to: ts0 + 60_000, devices: ['gw-b-air2'] });
    expect(series[0]).toMatchObject({ device: 'gw-b-air2', ward: 'w1' });
    expect(series[0]!.points).toHaveLength(5);

    await publishTelemetry(pub, 'gw-c', {
      v: 1,
      gateway: 'gw-c',
      readings: [{ device: 'gw-c-noise', ts: ts0, seq: 0, values: { laeq: { v: 55, u: 'dBA' } } }],
    });
    await waitFor(async () => (await reasonsOf('gw-c-noise')).length === 1, { what: 'dead letter of the removed device' });
    expect(await reasonsOf('gw-c-noise')).toEqual(['unknown_device: device "gw-c-noise" is not in the registry']);
    expect(await storedSeqs(store, 'gw-c')).toEqual([]);
  });

  it('ignores an invalid registry (counted, logged) and keeps the one in force', async () => {
    const before = await metric(ingest, 'ingest_registry_updates_total', { result: 'rejected' });
    await publishRegistry(pub, '{"id":"broken"');
    await publishRegistry(pub, JSON.stringify({ ...fileCity, devices: [{ id: 'x', kind: 'air_station' }] }));
    await waitFor(async () => (await metric(ingest, 'ingest_registry_updates_total', { result: 'rejected' })) === before + 2, {
      what: 'two rejections',
    });
    // Still the edited registry: the device added before keeps being stored.
    await publishTelemetry(pub, 'gw-b', airBatch('gw-b', 'gw-b-air2', 8, 2, ts0));
    await waitFor(async () => (await storedSeqs(store, 'gw-b')).length === 7, { what: 'readings stored under the kept registry' });
    expect(await metric(ingest, 'ingest_registry_devices')).toBe(fileCity.devices.length);
  });

  it('a device added while ingest was down: its readings queued in the session are stored, not dead-lettered', async () => {
    // A store of its own: the suite's other ingest instance also receives this telemetry.
    const own = await sqliteStore();
    const config = {
      mqtt: { url: broker.url, clientId: 'ingest-registry-restart' },
      limitsDir: LIMITS_DIR,
      batch: { maxReadings: 500, maxDelayMs: 20 },
    };
    // A first run creates the persistent session, then ingest goes down.
    const first = await startIngest(config, { store: own.store, city: fileCity, logger: quietLog() });
    await first.close();
    // While it is down: the admin adds gw-d-air2, the gateway sends its readings (queued by the broker).
    await publishRegistry(pub, {
      ...fileCity,
      devices: [...fileCity.devices, { ...fileCity.devices.find((d) => d.id === 'gw-d-air')!, id: 'gw-d-air2', name: 'added while down' }],
    });
    await publishTelemetry(pub, 'gw-d', airBatch('gw-d', 'gw-d-air2', 0, 20, ts0));
    const second = await startIngest(config, { store: own.store, city: fileCity, logger: quietLog() });
    try {
      await waitFor(async () => (await storedSeqs(own.store, 'gw-d')).length === 20, { what: 'queued readings of the new device stored' });
      expect((await own.store.deadLetters({ limit: 100 })).filter((l) => l.device === 'gw-d-air2')).toEqual([]);
    } finally {
      await second.close();
      await own.store.close();
    }
  });

  it('a restarted ingest picks the retained registry up at connect', async () => {
    await publishRegistry(pub, {
      ...fileCity,
      devices: [...fileCity.devices, { ...fileCity.devices[0]!, id: 'gw-a-air3', name: 'third' }],
    });
    const second = await startIngest(
      { mqtt: { url: broker.url, clientId: 'ingest-registry-2' }, limitsDir: LIMITS_DIR, batch: { maxReadings: 500, maxDelayMs: 20 } },
      { store, city: fileCity, logger: quietLog() },
    );
    try {
      await waitFor(async () => (await metric(second, 'ingest_registry_devices')) === fileCity.devices.length + 1, {
        what: 'retained registry applied at start',
      });
      expect(await metric(second, 'ingest_registry_updates_total', { result: 'applied' })).toBe(1);
    } finally {
      await second.close();
    }
  });
});
