import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { ResolvedBrokerConfig } from './config';
import { verifiedCertCN, type ConnectionInfo } from './connection-info';

export type AcceptConnection = (stream: Duplex, info: ConnectionInfo, rawSocket: Socket, req?: IncomingMessage) => void;

export interface Listener {
  name: 'mqtt' | 'tls' | 'ws';
  port: number;
  close(): Promise<void>;
  /** TLS only: re-read certificate, key and CA (rotation without dropping connected gateways). */
  reload?(): void;
}

function listen(server: NetServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const closeServer = (server: NetServer | HttpServer) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Plain MQTT over TCP. Nagle off: small QoS 1 acks must not wait 40 ms for company. */
export async function startTcpListener(
  cfg: ResolvedBrokerConfig['listeners']['mqtt'],
  maxSockets: number,
  accept: AcceptConnection,
): Promise<Listener> {
  const server = createNetServer({ noDelay: true }, (socket) => {
    accept(socket, { transport: 'tcp', remoteAddress: socket.remoteAddress ?? 'unknown' }, socket);
  });
  server.maxConnections = maxSockets;
  const port = await listen(server, cfg.port, cfg.host);
  return { name: 'mqtt', port, close: () => closeServer(server) };
}

/**
 * MQTT over TLS. Client certificates are requested but not required: a gateway with a certificate signed by
 * `ca` is identified by its CN; others still authenticate with username and secret.
 */
export async function startTlsListener(
  cfg: NonNullable<ResolvedBrokerConfig['listeners']['tls']>,
  maxSockets: number,
  accept: AcceptConnection,
): Promise<Listener> {
  const secureContext = () => ({
    cert: readFileSync(cfg.cert),
    key: readFileSync(cfg.key),
    ...(cfg.ca ? { ca: readFileSync(cfg.ca) } : {}),
  });
  const server = createTlsServer(
    {
      ...secureContext(),
      requestCert: cfg.requestClientCert,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (socket: TLSSocket) => {
      socket.setNoDelay(true);
      const cn = cfg.requestClientCert ? verifiedCertCN(socket) : undefined;
      accept(socket, { transport: 'tls', remoteAddress: socket.remoteAddress ?? 'unknown', ...(cn ? { verifiedCertCN: cn } : {}) }, socket);
    },
  );
  server.on('tlsClientError', () => undefined); // failed handshakes are the client's problem, not a broker event
  server.maxConnections = maxSockets;
  const port = await listen(server, cfg.port, cfg.host);
  return {
    name: 'tls',
    port,
    close: () => closeServer(server),
    // Throws (leaving the old certificate in use) if the new files are unreadable or do not match.
    reload: () => server.setSecureContext(secureContext()),
  };
}

/** MQTT over WebSocket (subprotocol "mqtt") for browser tools. */
export async function startWsListener(
  cfg: NonNullable<ResolvedBrokerConfig['listeners']['ws']>,
  maxSockets: number,
  maxPayload: number,
  accept: AcceptConnection,
): Promise<Listener> {
  const http = createHttpServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n'));
  http.maxConnections = maxSockets;
  const wss = new WebSocketServer({
    server: http,
    path: cfg.path,
    maxPayload,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  wss.on('connection', (ws, req) => {
    req.socket.setNoDelay(true);
    const stream = createWebSocketStream(ws);
    stream.on('error', () => ws.terminate());
    accept(stream, { transport: 'ws', remoteAddress: req.socket.remoteAddress ?? 'unknown' }, req.socket, req);
  });
  wss.on('error', () => undefined);
  const port = await listen(http, cfg.port, cfg.host);
  return {
    name: 'ws',
    port,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closeServer(http);
    },
  };
}
