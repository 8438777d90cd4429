import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@tamky/protocol';
import { tempDir, waitFor } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayConfigSchema, Outbox, startGateway, type Gateway } from '../src/index';
import { collector, restartableMosquitto, switchableProxy } from './helpers/broker';
import { firstOccurrences, gapsAndDuplicates, receivedSeqs } from './helpers/seqs';
import { quietLog, simCity, simDevice } from './helpers/sim';

describe('outbox bounds', () => {
  it('numbers readings monotonically across reopen, drops oldest telemetry beyond the bound (counted), never messages', () => {
    const path = join(tempDir('edge-outbox-unit'), 'o.db');
    let t = 1_700_000_000_000;
    const opts = { path, maxReadings: 100, maxAgeMs: 3_600_000, synchronous: 'normal' as const, now: () => t };
    const a = new Outbox(opts, quietLog);
    const first = a.addReadings(Array.from({ length: 60 }, (_, i) => ({ device: 'd', ts: t + i, vals: '{}' })));
    expect(first[0]).toBe(1);
    a.addMessage('event', { type: 'x' });
    a.ackTelemetry(1, 60); // all published
    a.close();
    const b = new Outbox(opts, quietLog);
    expect(b.addReading('d', t, '{}')).toBe(61); // not reused after the table emptied and the file reopened
    b.addReadings(Array.from({ length: 150 }, (_, i) => ({ device: 'd', ts: t + i, vals: '{}' })));
    const s = b.stats();
    expect(s.dropped).toBe(51);
    expect(b.nextTelemetry(0, 1)[0]!.seq).toBe(61 + 51); // oldest went first
    expect(b.nextMessages(0, 10)).toHaveLength(1); // the event survived
    t += 2 * 3_600_000;
    b.pruneByAge();
    expect(b.stats().dropped).toBe(151);
    expect(b.depth()).toBe(1);
    b.close();
  });
});

/** The broker goes away for a while (mosquitto stopped) and comes back on the same port. */
describe('store-and-forward across a broker outage', () => {
  let broker: Awaited<ReturnType<typeof restartableMosquitto>>;
  let slave: TcpSlave;
  let gw: Gateway;
  let sub: Awaited<ReturnType<typeof collector>>;
  let link: Awaited<ReturnType<typeof switchableProxy>>;

  beforeAll(async () => {
    broker = await restartableMosquitto();
    await broker.start();
    // The gateway's own network path, so that after the restart it comes back only once the test's
    // observer has: mosquitto does not keep the backlog for the observer's session across its restart.
    link = await switchableProxy(broker.port);
    await link.up();
    const sims = Array.from({ length: 5 }, (_, i) =>
      createSimDevice(simDevice('noise_meter', `noise-${i}`), { city: simCity, unitId: i + 1 }),
    );
    slave = await startModbusTcpSlave(sims, { log: quietLog });
    sub = await collector(broker.url, topics.telemetry('gw-outage'), 'edge-outage-sub');
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-outage',
      mqtt: { url: link.url, reconnect: { baseMs: 100, maxMs: 800 } },
      outbox: { path: join(tempDir('edge-outage'), 'gw.db'), replayPerSecond: 300, batchSize: 50 },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
      devices: sims.map((s, i) => ({ id: s.id, profile: 'noise_meter', bus: 'tcp-1', unitId: i + 1, pollIntervalMs: 100 })),
    });
    gw = await startGateway(config, { logger: quietLog });
  });

  afterAll(async () => {
    await gw?.close();
    await sub?.close();
    await link?.down();
    await slave?.close();
    await broker?.stop();
  });

  it('every seq arrives exactly once, in order, after the broker comes back', async () => {
    const topic = topics.telemetry('gw-outage');
    await waitFor(() => receivedSeqs(sub.messages, topic).length >= 20, { what: 'readings before the outage' });
    await broker.stop();
    await link.down();
    await waitFor(() => gw.outboxDepth() >= 300, { what: 'a backlog of 300 readings in the outbox', timeoutMs: 30_000 });
    await broker.start();
    await waitFor(() => sub.client.connected, { what: 'the observer reconnected', timeoutMs: 20_000 });
    await link.up();
    // Replay at 300/s while 50/s new readings keep coming: wait for the backlog to drain.
    await waitFor(() => gw.outboxDepth() < 20, { what: 'the outbox to drain', timeoutMs: 30_000 });
    // The broker has acknowledged the backlog; its delivery to the subscriber may still be under way.
    const upTo = await waitFor(
      () => {
        const seqs = receivedSeqs(sub.messages, topic);
        const max = Math.max(...seqs);
        return max > 320 && gapsAndDuplicates(seqs, max - 10).missing.length === 0 ? max - 10 : 0;
      },
      { what: 'the subscriber to receive the backlog', timeoutMs: 20_000 },
    ).catch(() => Math.max(...receivedSeqs(sub.messages, topic)) - 10);
    const seqs = receivedSeqs(sub.messages, topic);
    const { missing, duplicates } = gapsAndDuplicates(seqs, upTo);
    expect(missing).toEqual([]);
    expect(upTo).toBeGreaterThan(300);
    const order = firstOccurrences(seqs);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(duplicates).toBe(0);
    expect(gw.health().outbox.dropped).toBe(0);
  });
});
