import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { cityModelSchema, topics, type CityModel, type StoredReading, type TimeSeriesStore } from '@tamky/protocol';
import { openStore } from '@tamky/store';
import { tempDir } from '@tamky/test-support';
import { createLogger } from '@tamky/service-kit';

export const LIMITS_DIR = join(import.meta.dirname, '../../../config/limits');
export const quietLog = () => createLogger('ingest-test', { level: process.env.TEST_LOG ?? 'silent' });

/** A small city: four gateways, one device of each kind on gw-a, air + noise elsewhere. */
export function testCity(): CityModel {
  const gw = ['gw-a', 'gw-b', 'gw-c', 'gw-d'];
  const device = (id: string, kind: string, gateway: string, extra: Record<string, unknown> = {}) => ({
    id,
    kind,
    name: id,
    ward: 'w1',
    gateway,
    lat: 15.57,
    lon: 108.47,
    ...extra,
  });
  return cityModelSchema.parse({
    id: 'test',
    name: 'Test',
    timeZone: 'Asia/Ho_Chi_Minh',
    lat: 15.57,
    lon: 108.47,
    wards: [{ id: 'w1', name: 'W1', type: 'phuong', lat: 15.57, lon: 108.47, map: { x: 1, y: 1 } }],
    gateways: gw.map((id) => ({ id, ward: 'w1', name: id })),
    devices: [
      ...gw.map((g) => device(`${g}-air`, 'air_station', g)),
      ...gw.map((g) => device(`${g}-noise`, 'noise_meter', g, { zone: 'normal' })),
      device('gw-a-light', 'street_light', 'gw-a', { lamps: 2, ratedPowerW: 100 }),
      device('gw-a-traffic', 'traffic_counter', 'gw-a', { lanes: 2 }),
    ],
  });
}

export async function sqliteStore(): Promise<{ store: TimeSeriesStore; path: string }> {
  const path = join(tempDir('ingest-store'), 'readings.db');
  return { store: await openStore({ type: 'sqlite', path }), path };
}

export async function connectPublisher(url: string, clientId = `pub-${Math.random().toString(16).slice(2)}`): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 500 });
}

/** A gateway's telemetry message: `count` air readings of `device` with seqs from `seq0`, 1 s apart from `ts0`. */
export function airBatch(gateway: string, device: string, seq0: number, count: number, ts0: number, pm25 = 20) {
  return {
    v: 1,
    gateway,
    readings: Array.from({ length: count }, (_, i) => ({
      device,
      ts: ts0 + (seq0 + i) * 1000,
      seq: seq0 + i,
      values: { pm25: { v: pm25, u: 'ug/m3' }, pm10: { v: pm25 * 2, u: 'ug/m3' } },
    })),
  };
}

export async function publishTelemetry(client: MqttClient, gateway: string, batch: unknown): Promise<void> {
  await client.publishAsync(topics.telemetry(gateway), typeof batch === 'string' ? batch : JSON.stringify(batch), { qos: 1 });
}

/** Stored gateway sequence numbers (derived rows, seq −1, left out). */
export async function storedSeqs(store: TimeSeriesStore, gateway: string): Promise<number[]> {
  return (await store.sequences(gateway)).filter((s) => s >= 0);
}

export type { StoredReading };
