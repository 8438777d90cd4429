import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { z } from 'zod';
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from '@tamky/service-kit';
import type { LiveChannel } from '../module';
import type { User } from '../auth/accounts';

const CHANNELS = ['readings', 'derived', 'alarms', 'gateways'] as const;
/** Channels that may be shed under backpressure: the next reading supersedes a dropped one. Alarm and gateway changes are never dropped. */
const SHEDDABLE = new Set<LiveChannel>(['readings', 'derived']);
/** Channels whose latest value per device a new subscriber gets at once, instead of waiting for the next reading. */
const SNAPSHOT = new Set<LiveChannel>(['readings', 'derived']);
interface LiveReading {
  kind: string;
  device: string;
  ts: number;
}
const clientMessageSchema = z.object({ type: z.literal('subscribe'), channels: z.array(z.enum(CHANNELS)) });

/** The user of a socket and, for cookie sessions, the session it was opened with and when that session ends. */
export type SocketUser = User & { sessionId?: string; expiresAt?: number };
/** An upgrade refused for being over a sign-in limit. */
export interface Refusal {
  refused: 429;
  retryAfterMs: number;
}

interface Client {
  ws: WebSocket;
  user: SocketUser;
  channels: Set<LiveChannel>;
  alive: boolean;
  expiry?: NodeJS.Timeout;
}

/** setTimeout's longest delay; a session ending later is checked again then. */
const MAX_TIMER_MS = 2_147_483_647;

export interface HubOptions {
  server: Server;
  path: string;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  now(): number;
  logger: Logger;
  /** Resolves the user of an upgrade request (session cookie or kiosk token), or null to refuse. */
  authenticate(req: IncomingMessage): Promise<SocketUser | Refusal | null>;
  metrics: { clients: Gauge; sent: Counter; dropped: Counter };
  /** What a client limited to `wards` may see of a message (undefined: nothing); see ward-filter.ts. */
  narrow(channel: LiveChannel, message: unknown, wards: readonly string[]): unknown;
}

/** The WebSocket live feed: authenticated on upgrade, per-channel fan-out, shedding live readings for slow clients. */
export function startLiveHub(opts: HubOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<Client>();
  /** The newest reading per kind and device of each snapshot channel (one entry per device of the registry). */
  const latest = new Map<LiveChannel, Map<string, LiveReading>>([...SNAPSHOT].map((c) => [c, new Map()]));

  const remember = (channel: LiveChannel, message: unknown) => {
    const byKey = latest.get(channel);
    const readings = (message as { readings?: unknown }).readings;
    if (!byKey || !Array.isArray(readings)) return;
    for (const r of readings as LiveReading[]) {
      const key = `${r.kind}/${r.device}`;
      const old = byKey.get(key);
      if (!old || old.ts <= r.ts) byKey.set(key, r);
    }
  };

  /** The latest values of a channel the client just subscribed to, as one frame of that channel (ward-narrowed). */
  const sendSnapshot = (client: Client, channel: LiveChannel) => {
    const byKey = latest.get(channel);
    if (!byKey || byKey.size === 0) return;
    const message = { type: channel, readings: [...byKey.values()] };
    const wards = client.user.wards;
    const shown = wards ? opts.narrow(channel, message, wards) : message;
    if (shown !== undefined) send(client, shown);
  };

  const refuse = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node leaves an upgrading socket without an error listener: a page closed while its session is being checked
    // (a reset) would throw out of the server.
    socket.on('error', (err) => {
      opts.logger.debug({ err }, 'live feed connection failed during its upgrade');
      socket.destroy();
    });
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== opts.path) return refuse(socket, 404, 'Not Found');
    // Cookies ride along on cross-site WebSocket handshakes: only accept pages of our own origin.
    const origin = req.headers.origin;
    if (origin) {
      let originHost = '';
      try {
        originHost = new URL(origin).host;
      } catch {
        /* malformed origin: refused below */
      }
      if (originHost !== req.headers.host) return refuse(socket, 403, 'Forbidden');
    }
    opts.authenticate(req).then(
      (user) => {
        if (!user) return refuse(socket, 401, 'Unauthorized');
        if ('refused' in user)
          return socket.end(
            `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${Math.ceil(user.retryAfterMs / 1000)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
          );
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, user));
      },
      (err) => {
        opts.logger.error({ err }, 'websocket authentication failed');
        refuse(socket, 500, 'Internal Server Error');
      },
    );
  };

  const accept = (ws: WebSocket, user: SocketUser) => {
    const client: Client = { ws, user, channels: new Set(), alive: true };
    clients.add(client);
    if (user.expiresAt !== undefined) {
      // The session's end is the socket's end: a wall left open must not outlive its sign-in.
      const expiresAt = user.expiresAt;
      const arm = () => {
        const left = expiresAt - opts.now();
        if (left <= 0) return void ws.close(4401, 'session expired');
        client.expiry = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        client.expiry.unref();
      };
      arm();
    }
    opts.metrics.clients.set(clients.size);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return send(client, { type: 'error', error: 'bad_request', message: 'not JSON' });
      }
      const msg = clientMessageSchema.safeParse(parsed);
      if (!msg.success)
        return send(client, { type: 'error', error: 'bad_request', message: 'expected {"type":"subscribe","channels":[...]}' });
      const before = client.channels;
      client.channels = new Set(msg.data.channels);
      send(client, { type: 'subscribed', channels: [...client.channels] });
      for (const channel of client.channels) if (SNAPSHOT.has(channel) && !before.has(channel)) sendSnapshot(client, channel);
    });
    ws.on('close', () => {
      clearTimeout(client.expiry);
      clients.delete(client);
      opts.metrics.clients.set(clients.size);
    });
    ws.on('error', (err) => opts.logger.debug({ err, user: user.username }, 'websocket error'));
    send(client, {
      type: 'hello',
      serverTime: opts.now(),
      user: { username: user.username, role: user.role, ...(user.wards ? { wards: user.wards } : {}) },
    });
  };

  const send = (client: Client, message: unknown) => {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    client.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
    opts.metrics.sent.inc();
  };

  opts.server.on('upgrade', onUpgrade);

  const pingTimer = setInterval(() => {
    const frame = JSON.stringify({ type: 'ping', serverTime: opts.now() });
    for (const client of clients) {
      // A client that has not answered the previous protocol-level ping is gone (phone lost signal): free it.
      if (!client.alive) {
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
      send(client, frame);
    }
  }, opts.pingIntervalMs);
  pingTimer.unref();

  return {
    broadcast(channel: LiveChannel, message: unknown): void {
      if (SNAPSHOT.has(channel)) remember(channel, message);
      // One serialisation per distinct ward scope (city-wide clients share the key "").
      const frames = new Map<string, string | null>();
      for (const client of clients) {
        if (!client.channels.has(channel)) continue;
        if (SHEDDABLE.has(channel) && client.ws.bufferedAmount > opts.maxBufferedBytes) {
          opts.metrics.dropped.inc({ channel });
          continue;
        }
        const wards = client.user.wards;
        const key = wards ? wards.join(',') : '';
        let frame = frames.get(key);
        if (frame === undefined) {
          const shown = wards ? opts.narrow(channel, message, wards) : message;
          frame = shown === undefined ? null : JSON.stringify(shown);
          frames.set(key, frame);
        }
        if (frame !== null) send(client, frame);
      }
    },
    clientCount: () => clients.size,
    /** A socket authenticated once at upgrade must not outlive the account's sessions. */
    disconnectUser(username: string, keepSessionId?: string): void {
      for (const client of clients)
        if (client.user.username === username && (!keepSessionId || client.user.sessionId !== keepSessionId))
          client.ws.close(4401, 'session ended');
    },
    /** Logout: the sockets opened with that session close with it. */
    disconnectSession(sessionId: string): void {
      for (const client of clients) if (client.user.sessionId === sessionId) client.ws.close(4401, 'session ended');
    },
    async close(): Promise<void> {
      clearInterval(pingTimer);
      opts.server.off('upgrade', onUpgrade);
      for (const client of clients) client.ws.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const client of clients) client.ws.terminate();
    },
  };
}
export type LiveHub = ReturnType<typeof startLiveHub>;
