import { describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { BatchPipeline, type DurableBatch } from '../src/consumer/pipeline';
import { quietLog, sqliteStore } from './helpers/fixtures';

const T0 = Date.UTC(2025, 7, 1, 3, 0, 0);
const raw = (seq: number): StoredReading => ({
  kind: 'air_station',
  device: 'd1',
  gateway: 'gw-a',
  ward: 'w1',
  ts: T0 + seq * 1000,
  seq,
  values: { pm25: seq },
});

async function pipelineWith(idleMs: number) {
  const { store } = await sqliteStore();
  const batches: number[][] = [];
  const pipeline = new BatchPipeline({
    store,
    maxReadings: 1000,
    // Far beyond the test: only the idle rule can flush.
    maxDelayMs: 60_000,
    idleMs,
    retryBaseMs: 10,
    retryMaxMs: 50,
    log: quietLog(),
    derive: () => [],
    onDurable: async (b: DurableBatch) => {
      batches.push(b.raw.map((r) => r.seq));
    },
    onWriteFailure: () => {},
  });
  const push = (seq: number) =>
    pipeline.push({ readings: [raw(seq)], deadLetters: [], ack: () => {}, receivedAt: Date.now(), values: 1, newestTs: T0 });
  return { pipeline, push, batches, store };
}

describe('batch pipeline idle flush', () => {
  it('writes what waits once nothing new has arrived for idleMs, long before maxDelayMs; messages arriving together stay one batch', async () => {
    const { pipeline, push, batches, store } = await pipelineWith(30);
    push(1);
    push(2);
    push(3);
    await waitFor(() => batches.length === 1, { what: 'the idle flush', timeoutMs: 10_000 });
    expect(batches).toEqual([[1, 2, 3]]);
    push(4);
    await waitFor(() => batches.length === 2, { what: 'the next idle flush', timeoutMs: 10_000 });
    expect(batches[1]).toEqual([4]);
    await pipeline.close();
    await store.close();
  });

  it('with idleMs 0 waits for size or maxDelayMs', async () => {
    const { pipeline, push, batches, store } = await pipelineWith(0);
    push(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(batches).toEqual([]);
    // close() writes what waits.
    await pipeline.close();
    expect(batches).toEqual([[1]]);
    await store.close();
  });
});
