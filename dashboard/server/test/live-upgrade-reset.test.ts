import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@tamky/service-kit';
import { startLiveHub, type HubOptions } from '../src/live/hub';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const noMetric = { inc() {}, dec() {}, set() {} };

describe('the live feed upgrade', () => {
  it('a browser that resets its connection while the upgrade is being authenticated does not crash the server', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    let release!: () => void;
    const asked = new Promise<void>((ready) => {
      const hub = startLiveHub({
        server,
        path: '/api/live',
        pingIntervalMs: 60_000,
        maxBufferedBytes: 1 << 20,
        now: Date.now,
        logger: createLogger('live-test', { level: 'silent' }),
        // A slow session check (a loaded machine): the page goes away meanwhile.
        authenticate: () =>
          new Promise((resolve) => {
            release = () => resolve({ username: 'op1', role: 'operator' } as never);
            ready();
          }),
        metrics: { clients: noMetric, sent: noMetric, dropped: noMetric } as unknown as HubOptions['metrics'],
        narrow: (_c, m) => m,
      });
      closers.push(() => hub.close());
    });
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const errors: unknown[] = [];
    const onUncaught = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onUncaught);
    closers.push(() => void process.off('uncaughtException', onUncaught));

    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `GET /api/live HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await asked;
    socket.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 300));
    release();
    await new Promise((r) => setTimeout(r, 300));
    expect(errors).toEqual([]);
    // Still serving.
    expect(server.listening).toBe(true);
  });
});
