import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * The gateway↔broker link, as a TCP proxy the harness controls.
 * - `forward`: bytes flow both ways;
 * - `blackhole`: connections stay open but nothing is forwarded and new connections are accepted and
 *   left silent — a cable cut or a dead 4G cell, which a client only notices by its keepalive timing out;
 * - `refuse`: every connection is reset and new ones are closed at once — a router rebooting.
 */
export type LinkMode = 'forward' | 'blackhole' | 'refuse';

export interface TcpProxy {
  port: number;
  mode(): LinkMode;
  setMode(mode: LinkMode): void;
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(opts: {
  targetHost: string;
  targetPort: number;
  listenPort?: number;
  host?: string;
}): Promise<TcpProxy> {
  let mode: LinkMode = 'forward';
  const pairs = new Set<{ client: Socket; upstream: Socket }>();

  const server: Server = createServer((client) => {
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(opts.targetPort, opts.targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Manual forwarding (not pipe) so that blackhole mode can swallow bytes in both directions.
    client.on('data', (chunk) => {
      if (mode === 'forward') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'forward') client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.listenPort ?? 0, opts.host ?? '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mode: () => mode,
    setMode(next) {
      mode = next;
      if (next === 'refuse') for (const p of [...pairs]) p.client.resetAndDestroy();
      if (next === 'forward' || next === 'refuse') return;
    },
    connections: () => pairs.size,
    async close() {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
