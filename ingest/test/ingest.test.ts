import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { liveReadingsSchema, topics, type StoredReading, type TimeSeriesStore } from '@tamky/protocol';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle, type ReadingObserver } from '../src/index';
import { airBatch, connectPublisher, LIMITS_DIR, publishTelemetry, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

describe('ingest against mosquitto and the SQLite store', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let pub: MqttClient;
  let live: MqttClient;
  const liveReadings: StoredReading[] = [];
  const liveDerived: StoredReading[] = [];
  const observed: StoredReading[] = [];
  const city = testCity();
  const observer: ReadingObserver = { onReadings: (r) => void observed.push(...r) };

  beforeAll(async () => {
    broker = await startMosquitto();
    ({ store } = await sqliteStore());
    ingest = await startIngest(
      { mqtt: { url: broker.url, clientId: 'ingest-t1' }, limitsDir: LIMITS_DIR, batch: { maxReadings: 500, maxDelayMs: 50 } },
      { store, city, logger: quietLog(), observers: [observer] },
    );
    live = await connectPublisher(broker.url, 'live-sub');
    live.on('message', (topic, payload) => {
      const parsed = liveReadingsSchema.parse(JSON.parse(payload.toString()));
      (topic === topics.liveReadings() ? liveReadings : liveDerived).push(...parsed.readings);
    });
    await live.subscribeAsync([topics.liveReadings(), topics.liveDerived()], { qos: 0 });
    pub = await connectPublisher(broker.url);
  });

  afterAll(async () => {
    await pub?.endAsync();
    await live?.endAsync();
    await ingest?.close();
    await store?.close();
    await broker?.stop();
  });

  it('stores telemetry with the device timestamps and seqs exactly, then publishes it live and to observers', async () => {
    const ts0 = Date.UTC(2025, 5, 1, 3, 0, 0);
    await publishTelemetry(pub, 'gw-a', airBatch('gw-a', 'gw-a-air', 0, 300, ts0));
    await publishTelemetry(pub, 'gw-a', airBatch('gw-a', 'gw-a-air', 300, 300, ts0));
    await waitFor(async () => (await storedSeqs(store, 'gw-a')).length === 600, { what: '600 readings stored' });
    expect(await storedSeqs(store, 'gw-a')).toEqual(Array.from({ length: 600 }, (_, i) => i));
    const series = await store.query({ kind: 'air_station', fields: ['pm25'], from: ts0, to: ts0 + 600_000, devices: ['gw-a-air'] });
    expect(series[0]!.points.map(([t]) => t)).toEqual(Array.from({ length: 600 }, (_, i) => ts0 + i * 1000));
    expect(series[0]!.ward).toBe('w1');
    await waitFor(() => liveReadings.length === 600, { what: 'live readings' });
    expect(liveReadings.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(liveReadings[0]).toMatchObject({ kind: 'air_station', device: 'gw-a-air', gateway: 'gw-a', ward: 'w1' });
    // The derived VN_AQI of that hour is stored and live too.
    await waitFor(() => liveDerived.some((d) => d.kind === 'vn_aqi'), { what: 'live vn_aqi' });
    const aqi = await store.latest({ kind: 'vn_aqi' });
    expect(aqi[0]).toMatchObject({ device: 'gw-a-air', ts: ts0, values: expect.objectContaining({ aqi: 40, level: 1 }) });
    expect(observed.filter((r) => r.kind === 'air_station')).toHaveLength(600);
    expect(observed.some((r) => r.kind === 'vn_aqi')).toBe(true);
  });

  it('dead-letters each bad input class with a readable reason and stores the good neighbours', async () => {
    const ts = Date.UTC(2025, 5, 2, 3, 0, 0);
    const good = (seq: number) => ({ device: 'gw-b-air', ts: ts + seq, seq, values: { pm25: { v: 10, u: 'ug/m3' } } });
    const batch = {
      v: 1,
      gateway: 'gw-b',
      readings: [
        good(1),
        { device: 'ghost', ts: ts + 2, seq: 2, values: { pm25: { v: 10, u: 'ug/m3' } } },
        { device: 'gw-a-air', ts: ts + 3, seq: 3, values: { pm25: { v: 10, u: 'ug/m3' } } },
        { device: 'gw-b-air', ts: ts + 4, seq: 4, values: { pm1: { v: 10, u: 'ug/m3' } } },
        { device: 'gw-b-air', ts: ts + 5, seq: 5, values: { pm25: { v: 10, u: 'mg/m3' } } },
        { device: 'gw-b-air', ts: ts + 6, seq: 6, values: { pm25: { v: 5000, u: 'ug/m3' } } },
        { device: 'gw-b-air', ts: -1, seq: 7, values: { pm25: { v: 10, u: 'ug/m3' } } },
        good(8),
      ],
    };
    await publishTelemetry(pub, 'gw-b', batch);
    await publishTelemetry(pub, 'gw-b', '{"v":1,"gateway":"gw-b","readings":[');
    await publishTelemetry(pub, 'gw-b', { v: 1, gateway: 'gw-c', readings: [good(9)] });
    await waitFor(async () => (await store.deadLetters({ from: 0, limit: 100 })).length >= 8, { what: 'dead letters' });
    const letters = await store.deadLetters({ from: 0, limit: 100 });
    const reasons = letters.map((l) => l.reason);
    for (const code of [
      'unknown_device',
      'foreign_device',
      'unknown_field',
      'wrong_unit',
      'out_of_range',
      'schema',
      'malformed_json',
      'gateway_mismatch',
    ]) {
      expect(
        reasons.some((r) => r.startsWith(`${code}: `)),
        `${code} in ${reasons.join(' | ')}`,
      ).toBe(true);
    }
    expect(reasons).toContain('foreign_device: device "gw-a-air" belongs to gateway "gw-a", not "gw-b"');
    expect(letters.find((l) => l.reason.startsWith('malformed_json'))!.raw).toBe('{"v":1,"gateway":"gw-b","readings":[');
    expect(letters.find((l) => l.reason.startsWith('wrong_unit'))).toMatchObject({
      gateway: 'gw-b',
      device: 'gw-b-air',
      topic: topics.telemetry('gw-b'),
    });
    await waitFor(async () => (await storedSeqs(store, 'gw-b')).length === 2, { what: 'good readings stored' });
    expect(await storedSeqs(store, 'gw-b')).toEqual([1, 8]);
    const metrics = await ingest.metrics.metrics();
    expect(metrics).toMatch(/ingest_dead_letters_total\{reason="wrong_unit",service="ingest"\} 1/);
  });
});
