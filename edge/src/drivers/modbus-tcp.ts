import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest, encodeTcp, ModbusError, splitTcpFrames, type Request, type Response } from '@tamky/modbus';
import type { Logger } from '@tamky/service-kit';
import { backoffDelay } from '@tamky/service-kit';
import type { LinkStateListener, ModbusLink } from './types';

interface Pending {
  tid: number;
  unitId: number;
  req: Request;
  resolve(res: Response): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Modbus TCP master. Connects on first use and again after the peer goes away; while a reconnect is
 * backing off, requests fail fast (as 'timeout', so the device backs off) instead of queueing. Answers are matched by transaction
 * id, so a late answer to a request that already timed out is dropped, not taken for the next one.
 */
export function openTcpLink(
  opts: { host: string; port: number; gapMs: number; connectTimeoutMs?: number },
  log: Logger,
  onState?: LinkStateListener,
  backoff = { baseMs: 500, maxMs: 30_000 },
): ModbusLink {
  let socket: Socket | undefined;
  let connected = false;
  let connecting: Promise<void> | undefined;
  let nextAttemptAt = 0;
  let attempt = 0;
  let tid = 0;
  let rest: Buffer = Buffer.alloc(0);
  let pending: Pending | undefined;
  let lastActivity = 0;
  let closed = false;

  const finish = (fn: (p: Pending) => void) => {
    const p = pending;
    if (!p) return;
    pending = undefined;
    clearTimeout(p.timer);
    fn(p);
  };

  const drop = (why: string) => {
    const was = connected;
    connected = false;
    socket?.destroy();
    socket = undefined;
    rest = Buffer.alloc(0);
    finish((p) => p.reject(new ModbusError(why, 'closed')));
    nextAttemptAt = Date.now() + backoffDelay(attempt++, backoff.baseMs, backoff.maxMs);
    if (was) onState?.('closed', why);
  };

  const onData = (chunk: Buffer) => {
    lastActivity = performance.now();
    let frames;
    try {
      ({ frames, rest } = splitTcpFrames(Buffer.concat([rest, chunk])));
    } catch (err) {
      log.warn({ host: opts.host, err: (err as Error).message }, 'unparseable Modbus TCP stream; reconnecting');
      drop((err as Error).message);
      return;
    }
    for (const f of frames) {
      const p = pending;
      if (!p || f.transactionId !== p.tid) continue;
      try {
        const res = decodeResponse(p.req, f.pdu);
        finish((q) => q.resolve(res));
      } catch (err) {
        finish((q) => q.reject(err as Error));
      }
    }
  };

  const ensureConnected = (): Promise<void> => {
    if (connected) return Promise.resolve();
    if (connecting) return connecting;
    // A Modbus TCP device (or its RS-485 gateway) that refuses connections is a device not answering:
    // 'timeout', so the device is backed off like a silent RTU slave.
    if (Date.now() < nextAttemptAt)
      return Promise.reject(new ModbusError(`not connected to ${opts.host}:${opts.port} (retrying)`, 'timeout'));
    connecting = new Promise<void>((resolve, reject) => {
      const s = connect({ host: opts.host, port: opts.port });
      s.setNoDelay(true);
      const timer = setTimeout(() => s.destroy(new Error('connect timeout')), opts.connectTimeoutMs ?? 3000);
      s.once('connect', () => {
        clearTimeout(timer);
        socket = s;
        connected = true;
        attempt = 0;
        onState?.('open', `connected to ${opts.host}:${opts.port}`);
        resolve();
      });
      s.on('data', onData);
      s.on('error', (err) => {
        clearTimeout(timer);
        if (!connected) reject(new ModbusError(`connect ${opts.host}:${opts.port}: ${err.message}`, 'timeout'));
      });
      s.on('close', () => {
        clearTimeout(timer);
        if (socket === s) drop(`connection to ${opts.host}:${opts.port} closed`);
        else if (!connected) {
          nextAttemptAt = Date.now() + backoffDelay(attempt++, backoff.baseMs, backoff.maxMs);
          reject(new ModbusError(`connect ${opts.host}:${opts.port} failed`, 'timeout'));
        }
      });
    }).finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    isOpen: () => connected,
    async transact(unitId, req, timeoutMs) {
      if (closed) throw new ModbusError('link closed', 'closed');
      if (pending) throw new Error('TCP link: a request is already in flight (the bus owner must serialise)');
      await ensureConnected();
      const wait = lastActivity + opts.gapMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.ceil(wait)));
      tid = (tid + 1) & 0xffff;
      const adu = encodeTcp(tid, unitId, encodeRequest(req));
      return new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            finish((p) =>
              p.reject(new ModbusError(`no answer from ${opts.host}:${opts.port} unit ${unitId} within ${timeoutMs} ms`, 'timeout')),
            ),
          timeoutMs,
        );
        pending = { tid, unitId, req, resolve, reject, timer };
        socket!.write(adu);
      }).finally(() => {
        lastActivity = performance.now();
      });
    },
    close: async () => {
      closed = true;
      finish((p) => p.reject(new ModbusError('link closed', 'closed')));
      socket?.destroy();
      socket = undefined;
      connected = false;
    },
  };
}
