import { describe, expect, it } from 'vitest';
import type { StoredReading, TimeSeriesStore } from '@tamky/protocol';
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

/** The real SQLite store, with a gate that holds the write of chosen readings until released. */
function gatedStore(store: TimeSeriesStore, holdSeq: number) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const writes: string[] = [];
  const gated: TimeSeriesStore = Object.create(store);
  // Holding one write while later ones pass is exactly a store whose writes land out of call order.
  Object.defineProperty(gated, 'writesInCallOrder', { value: false });
  gated.writeBatch = async (rows) => {
    const label = rows.map((r) => (r.seq < 0 ? `derived:${r.values.upTo}` : `raw:${r.seq}`)).join(',');
    if (rows.some((r) => r.seq === holdSeq)) await gate;
    await store.writeBatch(rows);
    writes.push(label);
  };
  return { store: gated, release, writes };
}

/**
 * Two readings a batch, two batches in flight. One derived row is rewritten in place by every batch (like the
 * running hour's VN_AQI): its last value must win. As the service does, acks go out from onDurable.
 */
function twoInFlight(store: TimeSeriesStore) {
  const durable: number[][] = [];
  const acked: number[] = [];
  let derivedCount = 0;
  const pipeline = new BatchPipeline({
    store,
    maxReadings: 2,
    maxDelayMs: 0,
    maxInFlight: 2,
    retryBaseMs: 10,
    retryMaxMs: 50,
    log: quietLog(),
    derive: (rows) => [
      {
        kind: 'vn_aqi',
        device: 'd1',
        gateway: 'gw-a',
        ward: 'w1',
        ts: T0,
        seq: -1,
        values: { upTo: Math.max(...rows.map((r) => r.seq)), n: ++derivedCount },
      },
    ],
    onDurable: async (b: DurableBatch) => {
      durable.push(b.raw.map((r) => r.seq));
      for (const m of b.messages) m.ack();
    },
    onWriteFailure: () => {},
  });
  const push = (seqs: number[]) =>
    pipeline.push({
      readings: seqs.map(raw),
      deadLetters: [],
      ack: () => acked.push(...seqs),
      receivedAt: Date.now(),
      values: seqs.length,
      newestTs: T0,
    });
  return { pipeline, push, durable, acked };
}

describe('batch pipeline with two batches in flight', () => {
  it('writes raw readings concurrently but derived rows and onDurable in batch order', async () => {
    const { store: real } = await sqliteStore();
    const { store, release, writes } = gatedStore(real, 1);
    const { pipeline, push, durable, acked } = twoInFlight(store);
    push([1, 2]); // held at the gate
    await waitFor(() => pipeline.waiting().messages === 0, { what: 'first batch taken' });
    push([3, 4]);
    // The second batch's raw rows are durable while the first is still held…
    await waitFor(() => writes.includes('raw:3,raw:4'), { what: 'second batch raw written' });
    // …but nothing of it is acknowledged or published, and its derived row waits for the first batch.
    expect(durable).toEqual([]);
    expect(acked).toEqual([]);
    expect(writes).toEqual(['raw:3,raw:4']);
    release();
    await waitFor(() => durable.length === 2, { what: 'both batches durable' });
    expect(durable).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(acked).toEqual([1, 2, 3, 4]);
    expect(writes).toEqual(['raw:3,raw:4', 'raw:1,raw:2,derived:2', 'derived:4']);
    await pipeline.close();
    expect((await real.latest({ kind: 'vn_aqi' }))[0]!.values).toEqual({ upTo: 4, n: 2 });
    expect((await real.sequences('gw-a')).filter((s) => s >= 0)).toEqual([1, 2, 3, 4]);
    await real.close();
  });

  it('with a store that writes in call order, sends derived rows with their raw rows; a retry landing late leaves out what a later batch rewrote', async () => {
    const { store: real } = await sqliteStore();
    expect(real.writesInCallOrder).toBe(true);
    // One write after the other, as the SQLite store's thread applies them. Batch 1's first write is still
    // running when batch 2's is posted, then fails.
    const writes: string[] = [];
    let tail = Promise.resolve();
    let failed = false;
    let batch2Posted!: () => void;
    const batch2 = new Promise<void>((r) => (batch2Posted = r));
    const fifo: TimeSeriesStore = Object.create(real);
    fifo.writeBatch = (rows) => {
      const label = rows.map((r) => (r.seq < 0 ? `derived:${r.values.upTo}` : `raw:${r.seq}`)).join(',');
      if (rows.some((r) => r.seq === 3)) batch2Posted();
      const run = tail.then(async () => {
        if (!failed && rows.some((r) => r.seq === 1)) {
          failed = true;
          await batch2;
          throw new Error('disk I/O error');
        }
        await real.writeBatch(rows);
        writes.push(label);
      });
      tail = run.catch(() => {});
      return run;
    };
    const { pipeline, push, durable } = twoInFlight(fifo);
    push([1, 2]);
    await waitFor(() => pipeline.waiting().messages === 0, { what: 'first batch taken' });
    push([3, 4]);
    await waitFor(() => durable.length === 2, { what: 'both batches durable' });
    expect(durable).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // Batch 2 wrote its derived row with its raw rows (no separate write); batch 1's retry came after it
    // and left out its older derived value.
    expect(writes).toEqual(['raw:3,raw:4,derived:4', 'raw:1,raw:2']);
    await pipeline.close();
    expect((await real.latest({ kind: 'vn_aqi' }))[0]!.values).toEqual({ upTo: 4, n: 2 });
    expect((await real.sequences('gw-a')).filter((s) => s >= 0)).toEqual([1, 2, 3, 4]);
    await real.close();
  });
});
