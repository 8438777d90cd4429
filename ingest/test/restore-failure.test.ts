import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { TimeSeriesStore } from '@tamky/protocol';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle } from '../src/index';
import { airBatch, connectPublisher, LIMITS_DIR, publishTelemetry, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

/**
 * At city scale the history query for derived values timed out on a loaded InfluxDB at start, and ingest
 * exited, again at every restart, while readings piled up in the broker. A store that will not answer
 * history queries must not stop readings from being stored.
 */
describe('ingest whose store fails history queries at start', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let pub: MqttClient;
  let failing = true;
  let queries = 0;

  beforeAll(async () => {
    broker = await startMosquitto();
    ({ store } = await sqliteStore());
    const flaky = Object.create(store, {
      query: {
        value: async (q: Parameters<TimeSeriesStore['query']>[0]) => {
          queries++;
          if (failing) throw new Error('The operation was aborted due to timeout');
          return store.query(q);
        },
      },
    }) as TimeSeriesStore;
    ingest = await startIngest(
      { mqtt: { url: broker.url, clientId: 'ingest-restore' }, limitsDir: LIMITS_DIR, batch: { maxReadings: 500, maxDelayMs: 50 } },
      { store: flaky, city: testCity(), logger: quietLog() },
    );
    pub = await connectPublisher(broker.url);
  });

  afterAll(async () => {
    await pub?.endAsync();
    await ingest?.close();
    await store?.close();
    await broker?.stop();
  });

  it('starts, stores readings, and fetches the history once the store answers', async () => {
    expect(queries).toBeGreaterThan(0);
    const ts0 = Date.now() - 60_000;
    await publishTelemetry(pub, 'gw-a', airBatch('gw-a', 'gw-a-air', 0, 50, ts0));
    await waitFor(async () => (await storedSeqs(store, 'gw-a')).length === 50, { what: '50 readings stored while history queries fail' });
    const before = queries;
    failing = false;
    // The background retry (first after ≈ 5 s) asks again, for the devices it could not restore.
    await waitFor(() => queries > before, { what: 'the history asked again', timeoutMs: 20_000 });
  });
});
