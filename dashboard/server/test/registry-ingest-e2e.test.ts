import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { topics } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle } from '@tamky/ingest';
import { api, login, mqttClient, startHarness, type Harness, type Session } from './helpers';

const REPO = join(import.meta.dirname, '..', '..', '..');

/**
 * The contract with ingest, end to end: an admin adds a device in the dashboard, the dashboard publishes the
 * registry retained on config/registry, the real ingest replaces its registry and stores the new device's
 * telemetry it dead-lettered before. Real mosquitto, real SQLite store, real ingest.
 */
describe('device registry edited in the dashboard, followed by ingest', () => {
  let h: Harness;
  let ingest: IngestHandle;
  let gateway: MqttClient;
  let admin: Session;
  const ts0 = Date.now() - 60_000;
  const batch = (device: string, seq0: number, count: number) => ({
    v: 1,
    gateway: 'gw-an-phu',
    readings: Array.from({ length: count }, (_, i) => ({
      device,
      ts: ts0 + (seq0 + i) * 1000,
      seq: seq0 + i,
      values: { pm25: { v: 21, u: 'ug/m3' }, pm10: { v: 40, u: 'ug/m3' } },
    })),
  });
  const deadLettersOf = async (device: string) => (await h.store.deadLetters({ limit: 500 })).filter((l) => l.device === device);

  beforeAll(async () => {
    h = await startHarness();
    admin = await login(h.url, 'admin');
    // Ingest starts from the city file, as deployed; the dashboard's retained registry then takes over.
    ingest = await startIngest(
      {
        mqtt: { url: h.mqttUrl, clientId: 'ingest-registry-e2e' },
        limitsDir: join(REPO, 'config/limits'),
        batch: { maxReadings: 100, maxDelayMs: 20 },
      },
      { store: h.store, city: h.city, logger: createLogger('ingest-test', { level: process.env.TEST_LOG ?? 'silent' }) },
    );
    gateway = await mqttClient(h.mqttUrl);
  });
  afterAll(async () => {
    await gateway?.endAsync();
    await ingest?.close();
    await h?.close();
  });

  it('stores the telemetry of a device added by an admin, which ingest dead-lettered before', async () => {
    await gateway.publishAsync(topics.telemetry('gw-an-phu'), JSON.stringify(batch('an-phu-air-2', 0, 2)), { qos: 1 });
    await waitFor(async () => (await deadLettersOf('an-phu-air-2')).length === 2, {
      what: 'dead letters of the unregistered device',
      timeoutMs: 15_000,
    });

    const { version, city } = (await (await api(h.url, admin, 'GET', '/api/admin/registry')).json()) as {
      version: number;
      city: { devices: Array<{ id: string; kind: string }> };
    };
    const template = city.devices.find((d) => d.id === 'an-phu-air-1') ?? city.devices.find((d) => d.kind === 'air_station')!;
    const device = { ...template, id: 'an-phu-air-2', name: 'Trạm không khí An Phú 2', ward: 'an-phu', gateway: 'gw-an-phu' };
    const res = await api(h.url, admin, 'PUT', '/api/admin/registry/devices/an-phu-air-2', { baseVersion: version, device });
    expect(res.status).toBe(200);

    // Readings sent once ingest has the new registry are stored, not dead-lettered.
    let seq = 2;
    await waitFor(
      async () => {
        await gateway.publishAsync(topics.telemetry('gw-an-phu'), JSON.stringify(batch('an-phu-air-2', seq, 1)), { qos: 1 });
        seq++;
        const latest = await h.store.latest({ kind: 'air_station', ward: 'an-phu' });
        return latest.some((r) => r.device === 'an-phu-air-2');
      },
      { what: 'the new device stored by ingest', timeoutMs: 20_000, intervalMs: 300 },
    );
    const stored = (await h.store.latest({ kind: 'air_station', ward: 'an-phu' })).find((r) => r.device === 'an-phu-air-2')!;
    expect(stored).toMatchObject({ gateway: 'gw-an-phu', ward: 'an-phu' });
    // Dead letters are only those sent before the registry reached ingest (which one exactly is a race of two MQTT clients).
    expect((await deadLettersOf('an-phu-air-2')).every((l) => l.reason.startsWith('unknown_device'))).toBe(true);
  });
});
