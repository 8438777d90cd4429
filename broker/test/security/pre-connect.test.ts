import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { waitFor } from '@tamky/test-support';
import type { BrokerHandle } from '../../src/index';
import { brokerConfigSchema } from '../../src/index';
import { gatewayOpts, metricValue, startTestBroker, tryConnect } from '../helpers';
import { connackCode, connectPacket } from '../raw-socket';

// Finding M6: sockets that never send CONNECT filled the broker's connection slots (idle sockets against
// maxConnections 20 locked out a real gateway); the per-address limit was only counted at CONNECT.

/** A TCP socket from a chosen loopback address (all of 127/8 reaches the broker on 127.0.0.1). */
function socketFrom(localAddress: string, port: number): Promise<{ socket: Socket; closed: Promise<void>; received: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.on('error', () => undefined);
      resolve({ socket, closed, received: () => Buffer.concat(chunks) });
    });
    socket.once('error', reject);
  });
}

const isClosed = (s: Socket) => s.destroyed || s.readyState === 'closed';

describe('sockets before CONNECT', () => {
  let broker: BrokerHandle;
  let port: number;
  beforeAll(async () => {
    broker = await startTestBroker({ limits: { maxConnections: 20, maxPendingSocketsPerAddress: 4, connectTimeoutMs: 3000 } });
    port = broker.ports.mqtt;
  });
  afterAll(() => broker?.close());

  it('caps idle sockets per address, so a flood of them does not lock a real gateway out', async () => {
    const idle = await Promise.all(Array.from({ length: 25 }, () => socketFrom('127.0.0.2', port).catch(() => undefined)));
    // Beyond the cap they are closed on accept; four stay, waiting for their CONNECT deadline.
    await waitFor(() => idle.filter((s) => s && !isClosed(s.socket)).length === 4, {
      what: 'all but four idle sockets closed',
      timeoutMs: 5000,
    });
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'pre-connect-sockets' })).toBe(21);

    const gw = await tryConnect(`mqtt://127.0.0.1:${port}`, gatewayOpts('gw-a', 'secret-a'));
    expect('client' in gw).toBe(true);
    if ('client' in gw) gw.client.end(true);

    // The four left are closed at the CONNECT deadline.
    await Promise.all(idle.filter((s) => s && !isClosed(s.socket)).map((s) => s!.closed));
    expect(await metricValue(broker, 'broker_refusals_total', { reason: 'connect-timeout' })).toBe(4);
  });

  it('counts a socket only until its CONNECT: authenticated connections from one address are not capped by it', async () => {
    const sessions = [];
    for (let i = 0; i < 6; i++) {
      const s = await socketFrom('127.0.0.3', port);
      s.socket.write(connectPacket(`gw-b:tool-${i}`, { username: 'gw-b', password: Buffer.from('secret-b') }));
      await waitFor(() => connackCode(s.received()) !== undefined, { what: `CONNACK for session ${i}` });
      expect(connackCode(s.received())).toBe(0);
      sessions.push(s);
    }
    // Still connected well past the CONNECT deadline (keepalive 0: no pings needed).
    await new Promise((r) => setTimeout(r, 3500));
    expect(sessions.filter((s) => isClosed(s.socket))).toEqual([]);
    for (const s of sessions) s.socket.destroy();
  });

  it('has a short default CONNECT deadline and a per-address cap, both configurable', () => {
    const limits = brokerConfigSchema.parse({ profile: 'production', listeners: { mqtt: { port: 0 } } }).limits;
    expect(limits.connectTimeoutMs).toBeLessThanOrEqual(5000);
    expect(limits.maxPendingSocketsPerAddress).toBeGreaterThan(0);
    expect(
      brokerConfigSchema.safeParse({ profile: 'production', listeners: { mqtt: { port: 0 } }, limits: { maxPendingSocketsPerAddress: 0 } })
        .success,
    ).toBe(false);
  });
});
