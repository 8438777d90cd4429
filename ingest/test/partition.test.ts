import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf, type StoredReading } from '@tamky/protocol';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { startIngest, subscriptionPlan } from '../src/index';
import { airBatch, connectPublisher, LIMITS_DIR, publishTelemetry, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

describe('two-instance split', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  /** A broker, one store, and ingest instances 0 and 1 of 2 on it; `seen[i]` = gateways instance i stored. */
  async function twoInstances(city: ReturnType<typeof testCity>, clientPrefix: string) {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const { store } = await sqliteStore();
    cleanups.push(() => store.close());
    const seen: Array<Set<string>> = [new Set(), new Set()];
    for (const index of [0, 1]) {
      const ingest = await startIngest(
        {
          mqtt: { url: broker.url, clientId: `${clientPrefix}${index}` },
          partition: { index, count: 2 },
          limitsDir: LIMITS_DIR,
          batch: { maxReadings: 500, maxDelayMs: 20 },
        },
        {
          store,
          city,
          logger: quietLog(),
          observers: [{ onReadings: (rs: StoredReading[]) => rs.forEach((r) => seen[index]!.add(r.gateway)) }],
        },
      );
      cleanups.push(() => ingest.close());
    }
    return { broker, store, seen };
  }

  it('plans per-gateway subscriptions for the partition and drops the wildcard', () => {
    const gws = ['gw-a', 'gw-b', 'gw-c', 'gw-d'];
    const p0 = subscriptionPlan(gws, { index: 0, count: 2 });
    const p1 = subscriptionPlan(gws, { index: 1, count: 2 });
    expect(p0.subscribe.some((t) => t.includes('+'))).toBe(false);
    expect(p0.unsubscribe).toContain('city/v1/gw/+/telemetry');
    expect([...p0.subscribe, ...p1.subscribe].filter((t) => t.endsWith('/telemetry')).sort()).toEqual(
      gws.map((g) => `city/v1/gw/${g}/telemetry`),
    );
    expect(subscriptionPlan(gws, { index: 0, count: 1 }).subscribe).toContain('city/v1/gw/+/telemetry');
  });

  it('each instance stores only its gateways; together they store all', async () => {
    const city = testCity();
    const gateways = city.gateways.map((g) => g.id);
    const byPartition = [0, 1].map((i) => gateways.filter((g) => partitionOf(g, 2) === i));
    expect(byPartition[0]!.length).toBeGreaterThan(0);
    expect(byPartition[1]!.length).toBeGreaterThan(0);

    const { broker, store, seen } = await twoInstances(city, 'ingest-p');
    const pub = await connectPublisher(broker.url);
    cleanups.push(() => pub.endAsync());
    for (const gw of gateways)
      for (let i = 0; i < 5; i++) await publishTelemetry(pub, gw, airBatch(gw, `${gw}-air`, i * 40, 40, Date.UTC(2025, 3, 1)));

    for (const gw of gateways) {
      await waitFor(async () => (await storedSeqs(store, gw)).length >= 200, { what: `${gw} stored` });
      expect(await storedSeqs(store, gw)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    }
    expect([...seen[0]!].sort()).toEqual(byPartition[0]!.sort());
    expect([...seen[1]!].sort()).toEqual(byPartition[1]!.sort());
  });

  it('a gateway added to the registry is taken by the instance of its partition, at once', async () => {
    const city = testCity();
    const { broker, store, seen } = await twoInstances(city, 'ingest-new-gw-p');
    // A gateway id of each partition, neither in the city file.
    const fresh = [0, 1].map((p) => Array.from({ length: 100 }, (_, i) => `gw-new-${i}`).find((g) => partitionOf(g, 2) === p)!);
    const pub = await connectPublisher(broker.url);
    cleanups.push(() => pub.endAsync());
    const edited = {
      ...city,
      gateways: [...city.gateways, ...fresh.map((id) => ({ id, ward: 'w1', name: id }))],
      devices: [...city.devices, ...fresh.map((gw) => ({ ...city.devices[0]!, id: `${gw}-air`, gateway: gw }))],
    };
    await pub.publishAsync('city/v1/config/registry', JSON.stringify(edited), { qos: 1, retain: true });
    // Until the instances have subscribed, a message would reach no one: publish until it is stored.
    for (const gw of fresh) {
      let seq = 0;
      await waitFor(
        async () => {
          await publishTelemetry(pub, gw, airBatch(gw, `${gw}-air`, seq++, 1, Date.UTC(2025, 3, 2)));
          return (await storedSeqs(store, gw)).length > 0;
        },
        { what: `${gw} stored`, intervalMs: 200 },
      );
    }
    expect(seen[0]!.has(fresh[0]!) && !seen[1]!.has(fresh[0]!)).toBe(true);
    expect(seen[1]!.has(fresh[1]!) && !seen[0]!.has(fresh[1]!)).toBe(true);
  });
});
