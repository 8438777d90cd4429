import {
  crc16,
  decodeResponse,
  decodeRtu,
  encodeRequest,
  encodeRtu,
  ModbusError,
  responsePduLength,
  type Request,
  type Response,
} from '@tamky/modbus';
import type { Logger } from '@tamky/service-kit';
import { openResilientPort, type SerialSettings } from './serial-port';
import type { LinkStateListener, ModbusLink } from './types';

interface Pending {
  unitId: number;
  req: Request;
  buf: Buffer;
  resolve(res: Response): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const LATE_FUNCTIONS = new Set([1, 2, 3, 4, 5, 6, 15, 16]);

/**
 * Length of a complete read/exception response frame with a valid CRC at the start of `buf`, 0 if it is
 * not one, undefined if more bytes are needed to tell.
 */
function lateFrameLength(buf: Buffer): number | undefined {
  const fc = buf[1]!;
  // Only the function code is known of the request it answers, and it is all the codec reads.
  if (!(fc & 0x80) && !LATE_FUNCTIONS.has(fc)) return 0;
  const pduLength = responsePduLength({ fc: fc & 0x7f } as Request, buf.subarray(1));
  if (pduLength === undefined) return undefined;
  const length = 1 + pduLength + 2;
  if (buf.length < length) return undefined;
  return crc16(buf, 0, length - 2) === buf.readUInt16LE(length - 2) ? length : 0;
}

/**
 * Modbus RTU master over a serial port. Frames are delimited by length (known from the function code
 * and byte count) rather than by silence, which timers in a busy Node process cannot measure
 * reliably; the inter-frame gap is still kept before every request. Bytes arriving with no request
 * outstanding (a late answer from a slave we gave up on) are discarded.
 */
export function openRtuLink(
  settings: SerialSettings & { gapMs: number },
  log: Logger,
  onState?: LinkStateListener,
): ModbusLink & { discardedBytes(): number } {
  let pending: Pending | undefined;
  let lastActivity = 0;
  let discarded = 0;

  const finish = (fn: (p: Pending) => void) => {
    const p = pending;
    if (!p) return;
    pending = undefined;
    clearTimeout(p.timer);
    fn(p);
  };

  const onData = (chunk: Buffer) => {
    lastActivity = performance.now();
    const p = pending;
    if (!p) {
      discarded += chunk.length;
      return;
    }
    p.buf = p.buf.length ? Buffer.concat([p.buf, chunk]) : chunk;
    while (pending === p && p.buf.length >= 2) {
      if (p.buf[0] !== p.unitId) {
        // A late answer from a slave we already gave up on (it starts with its own unit id): if it
        // is a complete, valid frame, drop it and keep waiting for ours instead of blaming this device.
        const late = lateFrameLength(p.buf);
        if (late === undefined) return;
        if (late > 0) {
          discarded += late;
          p.buf = p.buf.subarray(late);
          continue;
        }
      }
      const pduLength = responsePduLength(p.req, p.buf.subarray(1));
      if (pduLength === undefined || p.buf.length < pduLength + 3) return;
      const frame = p.buf.subarray(0, pduLength + 3);
      try {
        const { unitId, pdu } = decodeRtu(frame);
        if (unitId !== p.unitId) throw new ModbusError(`answer from unit ${unitId}, expected ${p.unitId}`, 'frame');
        const res = decodeResponse(p.req, Buffer.from(pdu));
        finish((q) => q.resolve(res));
      } catch (err) {
        finish((q) => q.reject(err as Error));
      }
      return;
    }
  };

  const port = openResilientPort(
    settings,
    {
      onData,
      onState: (state, detail) => {
        if (state === 'closed') finish((p) => p.reject(new ModbusError(detail ?? 'serial port closed', 'closed')));
        onState?.(state, detail);
      },
    },
    log,
  );

  const waitForGap = async () => {
    const wait = lastActivity + settings.gapMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.ceil(wait)));
  };

  return {
    isOpen: () => port.isOpen(),
    discardedBytes: () => discarded,
    async transact(unitId, req, timeoutMs) {
      if (pending) throw new Error('RTU link: a request is already in flight (the bus owner must serialise)');
      if (!port.isOpen()) throw new ModbusError(`serial port ${settings.path} is not open`, 'closed');
      await waitForGap();
      const adu = encodeRtu(unitId, encodeRequest(req));
      return new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(
          () => finish((p) => p.reject(new ModbusError(`no answer from unit ${unitId} within ${timeoutMs} ms`, 'timeout'))),
          timeoutMs,
        );
        pending = { unitId, req, buf: Buffer.alloc(0), resolve, reject, timer };
        port.write(adu).then(
          () => {
            lastActivity = performance.now();
          },
          (err: Error) => finish((p) => p.reject(new ModbusError(err.message, 'closed'))),
        );
      }).finally(() => {
        lastActivity = performance.now();
      });
    },
    close: async () => {
      finish((p) => p.reject(new ModbusError('link closed', 'closed')));
      await port.close();
    },
  };
}
