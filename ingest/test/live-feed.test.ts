import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { liveReadingsSchema, topics, type StoredReading, type TimeSeriesStore } from '@tamky/protocol';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { liveMessages, newestPerDevice, startIngest, type IngestHandle } from '../src/index';
import { airBatch, connectPublisher, LIMITS_DIR, publishTelemetry, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

const reading = (i: number, ward = 'w1'): StoredReading => ({
  kind: 'air_station',
  device: `d${i % 3}`,
  gateway: 'gw-a',
  ward,
  ts: 1_750_000_000_000 + i,
  seq: i,
  values: { pm25: i },
});

describe('live feed messages', () => {
  it('stay under the byte cap with multi-byte tags, keeping every reading in order', () => {
    const ward = 'Phường Hòa Thuận – Tam Kỳ '.repeat(20);
    const batch = Array.from({ length: 2000 }, (_, i) => reading(i, ward));
    const maxBytes = 64 * 1024;
    const messages = liveMessages(batch, 500, maxBytes);
    for (const m of messages) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(maxBytes);
    // Cut by characters first, then halved: more than 2000 / 500 messages, none empty.
    expect(messages.length).toBeGreaterThan(4);
    expect(messages.flatMap((m) => liveReadingsSchema.parse(JSON.parse(m)).readings.map((r) => r.seq))).toEqual(batch.map((r) => r.seq));
  });

  it('coalesced, keep the newest reading of each device', () => {
    const batch = [reading(5), reading(1), reading(3), reading(4), reading(2)];
    expect(
      newestPerDevice(batch)
        .map((r) => [r.device, r.seq])
        .sort(),
    ).toEqual([
      ['d0', 3],
      ['d1', 4],
      ['d2', 5],
    ]);
  });
});

describe("ingest's live feed in mode 'latest'", () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let pub: MqttClient;
  let live: MqttClient;
  const received: StoredReading[][] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    ({ store } = await sqliteStore());
    ingest = await startIngest(
      {
        mqtt: { url: broker.url, clientId: 'ingest-live-latest' },
        limitsDir: LIMITS_DIR,
        batch: { maxReadings: 10_000, maxDelayMs: 300 },
        live: { mode: 'latest' },
      },
      { store, city: testCity(), logger: quietLog() },
    );
    live = await connectPublisher(broker.url, 'live-latest-sub');
    live.on('message', (topic, payload) => {
      if (topic === topics.liveReadings()) received.push(liveReadingsSchema.parse(JSON.parse(payload.toString())).readings);
    });
    await live.subscribeAsync(topics.liveReadings(), { qos: 0 });
    pub = await connectPublisher(broker.url);
  });

  afterAll(async () => {
    await pub?.endAsync();
    await live?.endAsync();
    await ingest?.close();
    await store?.close();
    await broker?.stop();
  });

  it('stores every reading but publishes only the newest per device of each batch', async () => {
    const ts0 = Date.UTC(2025, 8, 1, 3, 0, 0);
    await publishTelemetry(pub, 'gw-a', airBatch('gw-a', 'gw-a-air', 0, 200, ts0));
    await publishTelemetry(pub, 'gw-b', airBatch('gw-b', 'gw-b-air', 0, 200, ts0));
    await waitFor(async () => (await storedSeqs(store, 'gw-a')).length === 200 && (await storedSeqs(store, 'gw-b')).length === 200, {
      what: 'all stored',
    });
    await waitFor(
      () =>
        received.flat().some((r) => r.device === 'gw-a-air' && r.seq === 199) &&
        received.flat().some((r) => r.device === 'gw-b-air' && r.seq === 199),
      { what: 'newest readings live' },
    );
    const all = received.flat();
    // At most one reading per device per batch, so far fewer than the 400 stored.
    for (const msg of received) expect(new Set(msg.map((r) => r.device)).size).toBe(msg.length);
    expect(all.length).toBeLessThan(20);
  });
});
