import { describe, expect, it } from 'vitest';
import type { StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { BatchPipeline } from '../src/consumer/pipeline';
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

describe('batch pipeline close', () => {
  it('finishes even when a write sent to the store never answers, and leaves that message unacked', async () => {
    const { store: real } = await sqliteStore();
    let writesStarted = 0;
    // A store that takes the write and never answers (a hung database connection).
    const hung: TimeSeriesStore = Object.create(real, {
      writeBatch: {
        value: () => {
          writesStarted++;
          return new Promise<void>(() => {});
        },
      },
    });
    const acked: number[] = [];
    const pipeline = new BatchPipeline({
      store: hung,
      maxReadings: 1,
      maxDelayMs: 10,
      retryBaseMs: 10,
      retryMaxMs: 50,
      closeWaitMs: 300,
      log: quietLog(),
      derive: () => [],
      onDurable: async (b) => {
        for (const m of b.messages) m.ack();
      },
      onWriteFailure: () => {},
    });
    pipeline.push({ readings: [raw(1)], deadLetters: [], ack: () => acked.push(1), receivedAt: Date.now(), values: 1, newestTs: T0 });
    await waitFor(() => writesStarted === 1, { what: 'the write sent to the store' });
    const closed = await Promise.race([
      pipeline.close().then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('still waiting'), 20_000)),
    ]);
    expect(closed).toBe('closed');
    expect(acked).toEqual([]);
    await real.close();
  });

  it('waits for a write that answers within closeWaitMs and acks its message', async () => {
    const { store: real } = await sqliteStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let writesStarted = 0;
    const slow: TimeSeriesStore = Object.create(real, {
      writeBatch: {
        value: async (rows: StoredReading[]) => {
          writesStarted++;
          await gate;
          await real.writeBatch(rows);
        },
      },
    });
    const acked: number[] = [];
    const pipeline = new BatchPipeline({
      store: slow,
      maxReadings: 1,
      maxDelayMs: 10,
      retryBaseMs: 10,
      retryMaxMs: 50,
      closeWaitMs: 60_000,
      log: quietLog(),
      derive: () => [],
      onDurable: async (b) => {
        for (const m of b.messages) m.ack();
      },
      onWriteFailure: () => {},
    });
    pipeline.push({ readings: [raw(1)], deadLetters: [], ack: () => acked.push(1), receivedAt: Date.now(), values: 1, newestTs: T0 });
    await waitFor(() => writesStarted === 1, { what: 'the write sent to the store' });
    const closing = pipeline.close();
    release();
    await closing;
    expect(acked).toEqual([1]);
    expect(await real.sequences('gw-a')).toEqual([1]);
    await real.close();
  });
});
