import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { TimeSeriesStore } from '@tamky/protocol';
import { startMosquitto, waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle } from '../src/index';
import { airBatch, connectPublisher, LIMITS_DIR, publishTelemetry, quietLog, sqliteStore, storedSeqs, testCity } from './helpers/fixtures';

/** CONNACK, MQTT 3.1.1, return code 3: "server unavailable" (what a broker says while it is overloaded or starting). */
const CONNACK_SERVER_UNAVAILABLE = Buffer.from([0x20, 0x02, 0x00, 0x03]);

/**
 * A broker that refuses the first `refusals` connections with CONNACK 3, then passes the rest through to a real one.
 * mqtt.js stops reconnecting after a refused CONNACK unless told otherwise: ingest then waited forever.
 */
function refusingFront(target: URL, refusals: number): Promise<{ url: string; refused: () => number; server: Server }> {
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (refused < refusals) {
      refused++;
      socket.once('data', () => socket.end(CONNACK_SERVER_UNAVAILABLE));
      return;
    }
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `mqtt://127.0.0.1:${port}`, refused: () => refused, server });
    }),
  );
}

describe('ingest when the broker refuses its connection', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let front: Awaited<ReturnType<typeof refusingFront>>;
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let pub: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    front = await refusingFront(new URL(broker.url), 3);
    ({ store } = await sqliteStore());
    pub = await connectPublisher(broker.url);
  });

  afterAll(async () => {
    await pub?.endAsync();
    await ingest?.close();
    await store?.close();
    await new Promise((r) => front?.server.close(r));
    await broker?.stop();
  });

  it('keeps trying after CONNACK 3 ("server unavailable") and stores what was published meanwhile', async () => {
    ingest = await startIngest(
      { mqtt: { url: front.url, clientId: 'ingest-refused' }, limitsDir: LIMITS_DIR, batch: { maxReadings: 500, maxDelayMs: 50 } },
      { store, city: testCity(), logger: quietLog() },
    );
    expect(front.refused()).toBe(3);
    const ts0 = Date.UTC(2025, 5, 1, 3, 0, 0);
    await publishTelemetry(pub, 'gw-a', airBatch('gw-a', 'gw-a-air', 0, 100, ts0));
    await waitFor(async () => (await storedSeqs(store, 'gw-a')).length === 100, { what: '100 readings stored' });
    expect(await storedSeqs(store, 'gw-a')).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
