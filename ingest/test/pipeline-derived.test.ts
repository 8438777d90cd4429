import { describe, expect, it } from 'vitest';
import type { StoredReading } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { BatchPipeline, type DurableBatch } from '../src/consumer/pipeline';
import { Deriver, loadLimits } from '../src/index';
import { LIMITS_DIR, quietLog, sqliteStore, testCity } from './helpers/fixtures';

const T0 = Date.UTC(2025, 7, 1, 3, 0, 0);
const noise = (seq: number, laeq: number): StoredReading => ({
  kind: 'noise_meter',
  device: 'gw-a-noise',
  gateway: 'gw-a',
  ward: 'w1',
  ts: T0 + seq * 1000,
  seq,
  values: { laeq },
});

/**
 * Derived values held back to coalesce still reach the store: in a batch of their own once due when no message
 * comes, and all of them in the last batch at close.
 */
describe('batch pipeline with coalesced derived values', () => {
  it('writes due derived rows without waiting for a message, and everything held back at close', async () => {
    const { store } = await sqliteStore();
    const deriver = new Deriver(loadLimits(LIMITS_DIR), testCity(), { coalesceMs: 300 });
    const batches: Array<{ raw: number[]; derived: Array<Record<string, number>> }> = [];
    const pipeline = new BatchPipeline({
      store,
      maxReadings: 1000,
      maxDelayMs: 60_000,
      idleMs: 20,
      retryBaseMs: 10,
      retryMaxMs: 50,
      log: quietLog(),
      derive: (raw, all) => deriver.ingest(raw, all),
      derivedDueIn: () => deriver.nextDueIn(),
      onDurable: async (b: DurableBatch) => {
        batches.push({ raw: b.raw.map((r) => r.seq), derived: b.derived.map((d) => d.values) });
      },
      onWriteFailure: () => {},
    });
    const push = (r: StoredReading) =>
      pipeline.push({ readings: [r], deadLetters: [], ack: () => {}, receivedAt: Date.now(), values: 1, newestTs: r.ts });

    push(noise(1, 60));
    push(noise(2, 70));
    await waitFor(() => batches.length === 2, { what: 'the raw batch, then the derived one alone', timeoutMs: 20_000 });
    expect(batches[0]).toEqual({ raw: [1, 2], derived: [] });
    expect(batches[1]).toMatchObject({ raw: [], derived: [{ laeq: 67.4, samples: 2 }] });
    const [stored] = await store.latest({ kind: 'noise_hourly' });
    expect(stored?.values).toMatchObject({ laeq: 67.4, samples: 2 });

    // Closed before the next change is due: the last batch carries it anyway.
    push(noise(3, 80));
    await pipeline.close();
    expect(batches.slice(2).flatMap((b) => b.raw)).toEqual([3]);
    expect(batches.at(-1)!.derived).toMatchObject([{ samples: 3 }]);
    const [after] = await store.latest({ kind: 'noise_hourly' });
    expect(after?.values).toMatchObject({ samples: 3 });
    expect(deriver.nextDueIn()).toBeUndefined();
    await store.close();
  });
});
