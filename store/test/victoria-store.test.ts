import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVictoriaMetrics, waitFor } from '@tamky/test-support';
import { openStore, storeConfigSchema } from '../src';
import { reading, T0 } from './contract';

let vm: Awaited<ReturnType<typeof startVictoriaMetrics>>;
beforeAll(async () => {
  vm = await startVictoriaMetrics();
});
afterAll(async () => {
  await vm?.stop();
});

describe('VictoriaMetrics store', () => {
  it('a correction to a lower value replaces the reading (deduplication keeps the rewrite, not the larger value)', async () => {
    const store = await openStore({ type: 'victoriametrics', url: vm.url, measurement: 'correction' });
    await store.writeBatch([reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 50 } })]);
    await store.writeBatch([reading({ device: 'aq-01', ts: T0 + 1_000, seq: 1, values: { pm25: 20 } })]);
    expect(await store.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + 60_000 })).toEqual([
      { device: 'aq-01', ward: 'an-my', field: 'pm25', points: [[T0 + 1_000, 20]] },
    ]);
    await store.close();
  });

  it('reads and writes through separate bases, as with vminsert and vmselect', async () => {
    // A single node answers both paths; with no `url` there is no force_flush, so the read waits for VictoriaMetrics' own flush.
    const writer = await openStore({ type: 'victoriametrics', writeUrl: vm.url, queryUrl: vm.url, measurement: 'split' });
    await writer.writeBatch([reading({ device: 'aq-09', ts: T0 + 5, seq: 3, values: { pm25: 7 } })]);
    const series = await waitFor(
      async () => {
        const s = await writer.query({ kind: 'air', fields: ['pm25'], from: T0, to: T0 + 10 });
        return s.length > 0 ? s : undefined;
      },
      { what: 'the reading to become searchable', timeoutMs: 30_000 },
    );
    expect(series).toEqual([{ device: 'aq-09', ward: 'an-my', field: 'pm25', points: [[T0 + 5, 7]] }]);
  });

  it('config: a single-node url, or both cluster urls', () => {
    expect(() => storeConfigSchema.parse({ type: 'victoriametrics', writeUrl: 'http://vminsert:8480/insert/0/influx' })).toThrow(
      /writeUrl.*queryUrl/,
    );
    expect(storeConfigSchema.parse({ type: 'victoriametrics', url: 'http://127.0.0.1:8428' })).toMatchObject({
      measurement: 'city',
      flushAfterWrite: true,
      latestLookbackDays: 30,
    });
  });
});
