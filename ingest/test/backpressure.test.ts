import { afterAll, describe, expect, it } from 'vitest';
import type { StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle } from '../src/index';
import { airBatch, connectPublisher, LIMITS_DIR, publishTelemetry, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

/** The real SQLite store behind a switch that makes writes fail, as a full disk or a dead database would. */
function failing(store: TimeSeriesStore) {
  const state = { down: false, failures: 0, writes: 0 };
  const wrapped: TimeSeriesStore = Object.create(store);
  wrapped.writeBatch = async (readings: StoredReading[]) => {
    if (state.down) {
      state.failures++;
      throw new Error('SQLITE_FULL: database or disk is full (injected)');
    }
    state.writes++;
    return store.writeBatch(readings);
  };
  return { store: wrapped, state };
}

const gauge = async (ingest: IngestHandle, name: string) =>
  Number((await ingest.metrics.getSingleMetric(name)!.get()).values[0]?.value ?? NaN);

describe('back-pressure', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('holds a bounded number of unacked messages, leaves the broker while the store fails, and stores everything once after it recovers', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const { store: real } = await sqliteStore();
    cleanups.push(() => real.close());
    const { store, state } = failing(real);
    const config = {
      mqtt: { url: broker.url, clientId: 'ingest-bp' },
      limitsDir: LIMITS_DIR,
      batch: { maxReadings: 200, maxDelayMs: 20 },
      backpressure: { maxUnackedMessages: 10, retryBaseMs: 20, retryMaxMs: 100 },
    };
    state.down = true;
    const first = await startIngest(config, { store, city: testCity(), logger: quietLog() });
    cleanups.push(() => first.close());

    const pub = await connectPublisher(broker.url);
    cleanups.push(() => pub.endAsync());
    const MESSAGES = 60;
    const PER = 50;
    for (let i = 0; i < MESSAGES; i++)
      await publishTelemetry(pub, 'gw-a', airBatch('gw-a', 'gw-a-air', i * PER, PER, Date.UTC(2025, 2, 1)));

    // Admission is bounded: never more than 10 unacked messages, sampled while the writes fail.
    const unacked: number[] = [];
    await waitFor(
      async () => {
        unacked.push(await gauge(first, 'ingest_unacked_messages'));
        return state.failures >= 5;
      },
      { what: 'retried failing writes' },
    );
    expect(Math.max(...unacked)).toBeLessThanOrEqual(10);
    // Then it leaves the broker, whose persistent session queues the rest, and stays away while the store is down.
    await waitFor(
      async () => (await gauge(first, 'ingest_store_pauses_total')) === 1 && (await gauge(first, 'ingest_mqtt_connected')) === 0,
      { what: 'ingest away from the broker' },
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(await gauge(first, 'ingest_store_pauses_total')).toBe(1);
    expect(await gauge(first, 'ingest_mqtt_connected')).toBe(0);
    expect(await storedSeqs(real, 'gw-a')).toEqual([]);
    expect(state.writes).toBe(0);

    // Stop this instance while the store is still down: nothing was acked, so the broker still has it all.
    await first.close();
    state.down = false;
    const second = await startIngest(config, { store, city: testCity(), logger: quietLog() });
    cleanups.push(() => second.close());
    const expected = Array.from({ length: MESSAGES * PER }, (_, i) => i);
    await waitFor(async () => (await storedSeqs(real, 'gw-a')).length >= expected.length, {
      what: 'everything stored after recovery',
      timeoutMs: 30_000,
    });
    expect(await storedSeqs(real, 'gw-a')).toEqual(expected);
  });

  it('recovers in place: the same instance retries until the store is back', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const { store: real } = await sqliteStore();
    cleanups.push(() => real.close());
    const { store, state } = failing(real);
    const ingest = await startIngest(
      {
        mqtt: { url: broker.url, clientId: 'ingest-bp2' },
        limitsDir: LIMITS_DIR,
        batch: { maxReadings: 500, maxDelayMs: 20 },
        backpressure: { maxUnackedMessages: 5, retryBaseMs: 20, retryMaxMs: 100 },
      },
      { store, city: testCity(), logger: quietLog() },
    );
    cleanups.push(() => ingest.close());
    state.down = true;
    const pub = await connectPublisher(broker.url);
    cleanups.push(() => pub.endAsync());
    for (let i = 0; i < 30; i++) await publishTelemetry(pub, 'gw-b', airBatch('gw-b', 'gw-b-air', i * 20, 20, Date.UTC(2025, 2, 2)));
    await waitFor(() => state.failures >= 3, { what: 'failing writes' });
    // It left the broker (which queues its session) instead of leaving its socket unread.
    await waitFor(
      async () => (await gauge(ingest, 'ingest_store_pauses_total')) === 1 && (await gauge(ingest, 'ingest_mqtt_connected')) === 0,
      { what: 'ingest away from the broker' },
    );
    state.down = false;
    await waitFor(async () => (await storedSeqs(real, 'gw-b')).length >= 600, { what: 'all stored after recovery' });
    expect(await storedSeqs(real, 'gw-b')).toEqual(Array.from({ length: 600 }, (_, i) => i));
    await waitFor(async () => (await gauge(ingest, 'ingest_mqtt_connected')) === 1, { what: 'back on the broker' });
    expect(await ingest.metrics.getSingleMetric('ingest_store_write_failures_total')!.get()).toMatchObject({
      values: [{ value: expect.any(Number) }],
    });
  });
});
