import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { encodeResponse, encodeTcp, splitTcpFrames } from '@tamky/modbus';
import { createLogger, type Logger } from '@tamky/service-kit';
import { countRequest, type SimMetrics } from '../metrics';
import type { SimDevice } from '../sim-device';
import { serveBroadcast, serveRequest } from './serve';

/** Modbus TCP gateway exception: the target device on the serial side did not answer (or answered garbage). */
const GATEWAY_TARGET_FAILED = 0x0b;

export interface TcpSlave {
  port: number;
  close(): Promise<void>;
}

/**
 * A Modbus TCP slave for one or more simulated devices, routed by unit id like an RTU↔TCP gateway:
 * - a unit id that matches a device goes to that device;
 * - unit 0 or 255 with a single device behind the port addresses that device (the device "itself",
 *   as Modbus/TCP servers do); with several devices, unit 0 is a broadcast write: all execute, no reply;
 * - an unknown unit id answers exception 0x0B (gateway target device failed to respond).
 * Faults: no_answer/reboot → silence (the master times out); late_answer → reply delayed;
 * crc_error → exception 0x0B, what a gateway returns when the RTU reply fails its CRC.
 */
export async function startModbusTcpSlave(
  devices: SimDevice[],
  opts: { host?: string; port?: number; log?: Logger; metrics?: SimMetrics } = {},
): Promise<TcpSlave> {
  const log = opts.log ?? createLogger('firmware-sim');
  const byUnit = new Map<number, SimDevice>();
  for (const d of devices) {
    if (byUnit.has(d.unitId))
      throw new Error(`unit id ${d.unitId} used by both ${byUnit.get(d.unitId)!.id} and ${d.id} on one Modbus TCP slave`);
    byUnit.set(d.unitId, d);
  }
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const route = (unitId: number): SimDevice | 'broadcast' | undefined => {
    const direct = byUnit.get(unitId);
    if (direct) return direct;
    if ((unitId === 0 || unitId === 255) && devices.length === 1) return devices[0];
    if (unitId === 0) return 'broadcast';
    return undefined;
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let frames;
      try {
        ({ frames, rest: buf } = splitTcpFrames(buf));
      } catch (err) {
        // A stream that cannot be resynchronised: drop the connection, as real stacks do.
        log.debug({ err }, 'bad MBAP header, closing connection');
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        const target = route(frame.unitId);
        const send = (pdu: Buffer, delayMs = 0) => {
          const out = encodeTcp(frame.transactionId, frame.unitId, pdu);
          if (delayMs <= 0) return void (socket.writable && socket.write(out));
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (socket.writable) socket.write(out);
          }, delayMs);
          timers.add(timer);
        };
        if (target === 'broadcast') {
          serveBroadcast(devices, frame.pdu);
          continue;
        }
        if (!target) {
          countRequest(opts.metrics, `unit-${frame.unitId}`, 'unrouted');
          send(encodeResponse({ fc: frame.pdu[0] ?? 0, exception: GATEWAY_TARGET_FAILED }));
          continue;
        }
        const wire = target.wire();
        if (wire.silent) {
          countRequest(opts.metrics, target.id, 'silent');
          continue;
        }
        const res = serveRequest(target, frame.pdu);
        if (!res) continue;
        countRequest(opts.metrics, target.id, wire.corruptCrc ? 'corrupted' : (res[0]! & 0x80) !== 0 ? 'exception' : 'ok');
        send(wire.corruptCrc ? encodeResponse({ fc: frame.pdu[0] ?? 0, exception: GATEWAY_TARGET_FAILED }) : res, wire.delayMs);
      }
    });
    socket.on('error', (err) => log.debug({ err }, 'modbus tcp client error'));
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('error', (err) => log.error({ err }, 'modbus tcp server error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
