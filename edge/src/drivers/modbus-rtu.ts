import { decodeResponse, decodeRtu, encodeRequest, encodeRtu, ModbusError, responsePduLength, type Request, type Response } from '@tamky/modbus';
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

/**
 * Modbus RTU master over a serial port. Frames are delimited by length (known from the function code
 * and byte count) rather than by silence, which timers in a busy Node process cannot measure
 * reliably; the inter-frame gap is still kept before every request. Bytes arriving with no request
 * outstanding (a late answer from a slave we gave up on) are discarded.
 */
export function openRtuLink(settings: SerialSettings & { gapMs: number }, log: Logger, onState?: LinkStateListener): ModbusLink & { discardedBytes(): number } {
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
    if (p.buf.length < 2) return;
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
  };

  const port = openResilientPort(settings, { onData, onState: (state, detail) => {
    if (state === 'closed') finish((p) => p.reject(new ModbusError(detail ?? 'serial port closed', 'closed')));
    onState?.(state, detail);
  } }, log);

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
        const timer = setTimeout(() => finish((p) => p.reject(new ModbusError(`no answer from unit ${unitId} within ${timeoutMs} ms`, 'timeout'))), timeoutMs);
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
