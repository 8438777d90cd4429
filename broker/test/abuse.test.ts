import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { waitFor } from '@tamky/test-support';
import type { BrokerHandle } from '../src/index';
import { connectOk, gatewayOpts, metricValue, startTestBroker, startWellBehavedFlow, tryConnect } from './helpers';
import { connackCode, connectPacket, rawConnect, subscribePacket } from './raw-socket';

// Development profile so raw-socket clients can connect anonymously from loopback; the well-behaved gateway
// and the services still authenticate as in production.
let broker: BrokerHandle;
let url: string;
let port: number;
let flow: Awaited<ReturnType<typeof startWellBehavedFlow>>;

beforeAll(async () => {
  broker = await startTestBroker({
    profile: 'development',
    limits: {
      maxPacketBytes: 64 * 1024,
      connectTimeoutMs: 500,
      drainTimeoutMs: 1000,
      publishesPerSecond: 100,
      publishBurst: 100,
      connectsPerSecondPerAddress: 30,
    },
  });
  port = broker.ports.mqtt;
  url = `mqtt://127.0.0.1:${port}`;
  flow = await startWellBehavedFlow(url);
});

afterAll(async () => {
  await flow?.stop();
  await broker?.close();
});

const refusals = (reason: string) => metricValue(broker, 'broker_refusals_total', { reason });

describe('a broker under abuse stays up and keeps serving the well-behaved gateway', () => {
  it('disconnects a client that sends a packet above maxPacketBytes, before buffering it', async () => {
    const big = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    const gone = new Promise<void>((resolve) => big.once('close', () => resolve()));
    big.publish('city/v1/gw/gw-b/telemetry', Buffer.alloc(100 * 1024, 1), { qos: 1 });
    await gone;
    expect(await refusals('packet-too-large')).toBe(1);

    // A raw header declaring 200 MB is refused from its first 5 bytes.
    const raw = await rawConnect(port);
    raw.socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    await raw.closed;
    expect(await refusals('packet-too-large')).toBe(2);
  });

  it('closes raw sockets that send garbage or a bad CONNECT', async () => {
    const cases: Buffer[] = [
      randomBytes(64),
      Buffer.from('GET / HTTP/1.1\r\nHost: broker\r\n\r\n'),
      // CONNECT with protocol name "MQTX"
      Buffer.from([0x10, 0x0e, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x58, 0x04, 0x02, 0x00, 0x00, 0x00, 0x02, 0x41, 0x42]),
      // CONNECT with the reserved flag bit set [MQTT-3.1.2-3]
      Buffer.from([0x10, 0x0e, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x03, 0x00, 0x00, 0x00, 0x02, 0x41, 0x42]),
      // A PUBLISH before any CONNECT
      Buffer.from([0x30, 0x05, 0x00, 0x01, 0x61, 0x68, 0x69]),
      // Truncated variable-length header: 5 continuation bytes
      Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ];
    for (const bytes of cases) {
      const raw = await rawConnect(port);
      raw.socket.write(bytes);
      await raw.closed;
      expect(connackCode(raw.received()) ?? 'none').not.toBe(0);
    }
    expect(await refusals('malformed-packet')).toBeGreaterThanOrEqual(3);
  });

  it('closes a socket that never sends CONNECT (connect timeout)', async () => {
    const raw = await rawConnect(port);
    await raw.closed; // would hang (and fail the test by timeout) if the broker kept it
    expect(raw.received().length).toBe(0);
  });

  it('slows a gateway publishing above its rate instead of cutting it off, losing nothing', async () => {
    const watcher = await connectOk(url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-noisy-watch' });
    const got: number[] = [];
    watcher.on('message', (_t, p) => got.push(JSON.parse(p.toString()).n));
    await watcher.subscribeAsync('city/v1/gw/gw-b/telemetry', { qos: 1 });
    const noisy = await connectOk(url, gatewayOpts('gw-b', 'secret-b'));
    // 300 at once against 100/s with a burst of 100: 2 s of credit, well inside the 10 s allowance.
    await Promise.all(Array.from({ length: 300 }, (_, i) => noisy.publishAsync('city/v1/gw/gw-b/telemetry', `{"n":${i}}`, { qos: 1 })));
    expect(noisy.connected).toBe(true);
    expect(await metricValue(broker, 'broker_publishes_throttled_total')).toBeGreaterThanOrEqual(100);
    await waitFor(() => got.length >= 300, { what: `all 300 throttled readings (got ${got.length})` });
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await Promise.all([noisy.endAsync(), watcher.endAsync()]);
  });

  it('disconnects a subscriber that stops reading (drain timeout) while others keep receiving', async () => {
    const raw = await rawConnect(port);
    raw.socket.write(connectPacket('slow-reader'));
    await waitFor(() => connackCode(raw.received()) === 0, { what: 'CONNACK for the slow reader' });
    raw.socket.write(subscribePacket(1, 'city/v1/live/#'));
    await waitFor(() => raw.received().length >= 4 + 5, { what: 'SUBACK for the slow reader' });
    raw.socket.pause(); // stop reading: the kernel buffers fill, then the broker's writes stall

    const fast = await connectOk(url, { username: 'dashboard', password: 'secret-dashboard', clientId: 'dashboard-fast' });
    let fastGot = 0;
    fast.on('message', () => fastGot++);
    await fast.subscribeAsync('city/v1/live/#', { qos: 0 });
    const ingest = await connectOk(url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-live' });
    const payload = Buffer.alloc(60 * 1024, 7);
    let sent = 0;
    // Publish until the broker gives up on the slow reader (bounded: 2000 × 60 KB = 120 MB at most).
    while (sent < 2000 && (await refusals('slow-subscriber')) === 0) {
      await ingest.publishAsync('city/v1/live/readings', payload, { qos: 0 });
      sent++;
      if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => refusals('slow-subscriber').then((n) => n >= 1), {
      what: 'the slow subscriber to be disconnected',
      timeoutMs: 20_000,
    });
    raw.socket.resume();
    await raw.closed;
    // The fast subscriber was not held hostage by the slow one.
    await ingest.publishAsync('city/v1/live/readings', 'after', { qos: 0 });
    await waitFor(() => fastGot >= sent, { what: `fast subscriber to get all ${sent + 1} messages (has ${fastGot})` });
    await Promise.all([fast.endAsync(), ingest.endAsync()]);
  });

  it('refuses a flood of CONNECTs from one address beyond its rate, with CONNACK 3', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        const raw = await rawConnect(port);
        raw.socket.write(connectPacket(`flood-${i}`));
        await waitFor(() => connackCode(raw.received()) !== undefined, { what: `CONNACK for flood-${i}`, timeoutMs: 20_000 });
        raw.socket.destroy();
        return connackCode(raw.received());
      }),
    );
    const refused = attempts.filter((c) => c === 3).length;
    expect(refused).toBeGreaterThan(0);
    expect(attempts.filter((c) => c !== 0 && c !== 3)).toEqual([]);
    expect(await refusals('connect-rate')).toBe(refused);
  });

  it('is still up: the well-behaved gateway kept publishing and new clients connect', async () => {
    await new Promise((r) => setTimeout(r, 2000)); // let the per-address connect bucket refill
    const before = flow.count();
    await waitFor(() => flow.count() >= before + 10, { what: 'readings still flowing' });
    expect(flow.gateway.connected).toBe(true);
    expect(flow.received).toEqual(Array.from({ length: flow.received.length }, (_, i) => i + 1));
    const late = await tryConnect(url, gatewayOpts('gw-b', 'secret-b'));
    expect('client' in late).toBe(true);
    if ('client' in late) await late.client.endAsync();
  });
});
