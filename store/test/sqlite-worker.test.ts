import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@tamky/test-support';
import { openStore, SqliteStore, SqliteWorkerStore } from '../src';
import { T0, describeStoreContract, reading } from './contract';

describeStoreContract('SQLite on a worker thread', async () => {
  const dir = tempDir('store-sqlite-worker');
  const store = await openStore({ type: 'sqlite', path: join(dir, 'ts.db'), worker: true });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite store on a worker thread', () => {
  it('is what openStore gives a writer with worker: true, and what it commits a reader on the same file sees', async () => {
    const path = join(tempDir('store-worker'), 'ts.db');
    const store = await openStore({ type: 'sqlite', path, worker: true });
    expect(store).toBeInstanceOf(SqliteWorkerStore);
    const reader = await openStore({ type: 'sqlite', path, worker: true }, { readonly: true });
    expect(reader).toBeInstanceOf(SqliteStore);
    try {
      await store.writeBatch(
        Array.from({ length: 300 }, (_, i) => reading({ device: 'aq-1', ts: T0 + i * 1000, seq: i, values: { pm25: i } })),
      );
      // Resolved means committed: the reader sees all of it at once.
      expect(await reader.sequences('gw-1')).toEqual(Array.from({ length: 300 }, (_, i) => i));
      const [series] = await reader.query({
        kind: 'air',
        fields: ['pm25'],
        from: T0,
        to: T0 + 3_600_000,
        windowMs: 3_600_000,
        aggregate: 'sum',
      });
      expect(series!.points).toEqual([[T0, (299 * 300) / 2]]);
      // Compaction runs on the thread; the reader reads the blocks it made.
      expect(await (store as SqliteWorkerStore).compact()).toBe(300);
      expect(await reader.sequences('gw-1')).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect((await reader.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + 3_600_000 }))[0]!.points).toHaveLength(300);
    } finally {
      await reader.close();
      await store.close();
    }
  });

  it('rejects calls when its thread dies, and the next call runs on a new thread with the data intact', async () => {
    const path = join(tempDir('store-worker'), 'ts.db');
    const store = (await openStore({ type: 'sqlite', path, worker: true })) as SqliteWorkerStore;
    try {
      await store.writeBatch([reading({ device: 'aq-1', ts: T0, seq: 1, values: { pm25: 1 } })]);
      const thread = (store as unknown as { s: { worker: import('node:worker_threads').Worker } }).s.worker;
      const pendingWrite = store.writeBatch([reading({ device: 'aq-1', ts: T0 + 1000, seq: 2, values: { pm25: 2 } })]);
      await thread.terminate();
      // Either it committed before the thread stopped, or it was rejected: never a silent success without the row.
      const outcome = await pendingWrite.then(
        () => 'resolved',
        (err: Error) => err.message,
      );
      const seqs = await store.sequences('gw-1');
      if (outcome === 'resolved') expect(seqs).toEqual([1, 2]);
      else {
        expect(outcome).toMatch(/SQLite store thread stopped/);
        expect(seqs[0]).toBe(1);
      }
      await store.writeBatch([reading({ device: 'aq-1', ts: T0 + 2000, seq: 3, values: { pm25: 3 } })]);
      expect((await store.sequences('gw-1')).at(-1)).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('answers every call when used through a wrapper that has the store as its prototype', async () => {
    // Tests and adapters wrap a store with Object.create(store) and override one method. The wrapper's calls
    // and the store's own calls must share one sequence of call ids: two counters gave two calls the same id,
    // one reply went to the wrong caller and the other call never settled (ingest's close then waited forever).
    const path = join(tempDir('store-worker'), 'ts.db');
    const store = await openStore({ type: 'sqlite', path, worker: true });
    const wrapper = Object.create(store) as typeof store;
    try {
      await store.writeBatch([reading({ device: 'aq-1', ts: T0, seq: 1, values: { pm25: 1 } })]);
      const calls = [
        wrapper.sequences('gw-1'),
        store.sequences('gw-1'),
        wrapper.writeBatch([reading({ device: 'aq-1', ts: T0 + 1000, seq: 2, values: { pm25: 2 } })]),
        store.sequences('gw-1'),
      ];
      const settled = await Promise.race([Promise.allSettled(calls), new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 10_000))]);
      expect(settled).not.toBe('stuck');
      expect((settled as PromiseSettledResult<unknown>[]).map((s) => s.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'fulfilled',
      ]);
      expect((settled as PromiseFulfilledResult<unknown>[])[0]!.value).toEqual([1]);
      expect((settled as PromiseFulfilledResult<unknown>[])[3]!.value).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it('fails to open with the path in the message when the file cannot be created', async () => {
    const file = join(tempDir('store-worker'), 'not-a-dir');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'x');
    await expect(openStore({ type: 'sqlite', path: join(file, 'ts.db'), worker: true })).rejects.toThrow(/not-a-dir/);
  });
});
