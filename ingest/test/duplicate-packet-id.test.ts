import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { generate, parser as mqttParser, type Packet } from 'mqtt-packet';
import { topics, type StoredReading, type TimeSeriesStore } from '@tamky/protocol';
import { waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle } from '../src/index';
import { airBatch, LIMITS_DIR, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

/**
 * A broker that reuses a packet id before its PUBACK (aedes did after a reconnect) makes a PUBACK
 * ambiguous: it may clear either message. Ingest then acknowledges that id only once every message it
 * holds under it is durable. The broker here is a bare MQTT server written for the test, so it can
 * misbehave on purpose.
 */
describe('two messages under one packet id', () => {
  let server: Server;
  let port: number;
  let socket: Socket | undefined;
  const fromIngest: Packet[] = [];
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let slowWriteDone = false;

  beforeAll(async () => {
    server = createServer((s) => {
      socket = s;
      const parser = mqttParser({ protocolVersion: 4 });
      parser.on('packet', (p: Packet) => {
        fromIngest.push(p);
        if (p.cmd === 'connect') s.write(generate({ cmd: 'connack', returnCode: 0, sessionPresent: true }));
        else if (p.cmd === 'subscribe')
          s.write(generate({ cmd: 'suback', messageId: p.messageId!, granted: p.subscriptions.map(() => 1) }));
        else if (p.cmd === 'unsubscribe') s.write(generate({ cmd: 'unsuback', messageId: p.messageId! } as Packet));
        else if (p.cmd === 'pingreq') s.write(generate({ cmd: 'pingresp' }));
      });
      s.on('data', (c) => parser.parse(c));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;

    ({ store } = await sqliteStore());
    // The second message's readings (seq ≥ 10) take a second to become durable.
    const slow = Object.create(store, {
      writeBatch: {
        value: async (rows: StoredReading[]) => {
          if (rows.some((r) => r.seq >= 10)) {
            await new Promise((r) => setTimeout(r, 1000));
            await store.writeBatch(rows);
            slowWriteDone = true;
            return;
          }
          await store.writeBatch(rows);
        },
      },
    }) as TimeSeriesStore;
    ingest = await startIngest(
      {
        mqtt: { url: `mqtt://127.0.0.1:${port}`, clientId: 'ingest-dup-id' },
        limitsDir: LIMITS_DIR,
        batch: { maxReadings: 10, maxDelayMs: 20 },
        registry: { follow: false },
      },
      { store: slow, city: testCity(), logger: quietLog() },
    );
  });

  afterAll(async () => {
    await ingest?.close();
    await store?.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends the PUBACK for a reused id only when both messages are stored', async () => {
    await waitFor(() => fromIngest.some((p) => p.cmd === 'subscribe'), { what: 'ingest subscribed' });
    const ts0 = Date.now() - 600_000;
    const publish = (seq0: number) =>
      socket!.write(
        generate({
          cmd: 'publish',
          topic: topics.telemetry('gw-a'),
          qos: 1,
          messageId: 7,
          retain: false,
          dup: false,
          payload: Buffer.from(JSON.stringify(airBatch('gw-a', 'gw-a-air', seq0, 10, ts0))),
        }),
      );
    publish(0);
    publish(10);

    await waitFor(() => fromIngest.some((p) => p.cmd === 'puback'), { what: 'a PUBACK for id 7', timeoutMs: 10_000 });
    // When the first PUBACK for id 7 leaves, both messages are durable.
    expect(slowWriteDone).toBe(true);
    expect(await storedSeqs(store, 'gw-a')).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await waitFor(() => fromIngest.filter((p) => p.cmd === 'puback').length === 2, { what: 'one PUBACK per message' });
    expect(fromIngest.filter((p) => p.cmd === 'puback').map((p) => (p as { messageId?: number }).messageId)).toEqual([7, 7]);
  });
});
