import {
  charTimeMs,
  decodeRtu,
  encodeResponse,
  encodeRtu,
  EXCEPTION,
  interFrameGapMs,
  requestPduLength,
  type ModbusError,
} from '@tamky/modbus';
import { createLogger, type Logger } from '@tamky/service-kit';
import { countRequest, type SimMetrics } from '../metrics';
import type { SimDevice } from '../sim-device';
import { serveBroadcast, serveRequest } from './serve';
import { closeSerial, openSerial, type SerialOptions } from './serial';

/** Slave turnaround between the end of a request and the start of its reply. */
const TURNAROUND_MS = 2;
/**
 * On a pseudo-terminal bytes carry no timing, and a loaded host can pause between chunks of one frame,
 * so the silence that ends a frame is never shorter than this.
 */
const MIN_SILENCE_MS = 15;

export interface RtuSlaveOptions extends SerialOptions {
  log?: Logger;
  metrics?: SimMetrics;
  /**
   * Delay each reply by the time request and reply would take on a real RS-485 bus at this baud rate
   * (11 bits per character) plus turnaround, so a poller sees a bus's real throughput. Default true.
   */
  emulateBusTiming?: boolean;
}

/**
 * Devices sharing one RS-485 bus, served on a serial port (a socat pty in tests, a USB adapter in the
 * field). A request frame ends when its expected length (known from the function code) has arrived,
 * or at 3.5 character times of silence; frames with a bad CRC and frames for other unit ids are ignored,
 * as on a real bus. Unit 0 is broadcast: writes execute on every device, nobody answers.
 */
export async function startModbusRtuSlave(devices: SimDevice[], opts: RtuSlaveOptions): Promise<{ close(): Promise<void> }> {
  const log = opts.log ?? createLogger('firmware-sim');
  const byUnit = new Map(devices.map((d) => [d.unitId, d]));
  const port = await openSerial(opts);
  const silenceMs = Math.max(MIN_SILENCE_MS, interFrameGapMs(opts.baudRate));
  const charMs = charTimeMs(opts.baudRate);
  const timers = new Set<NodeJS.Timeout>();
  let buf = Buffer.alloc(0);
  let silence: NodeJS.Timeout | undefined;

  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const handle = (frame: Buffer, unknownFunction: boolean) => {
    let unitId: number;
    let pdu: Buffer;
    try {
      ({ unitId, pdu } = decodeRtu(frame));
    } catch (err) {
      log.debug({ err: (err as ModbusError).message, frame: frame.toString('hex') }, 'dropping RTU frame');
      return;
    }
    if (unitId === 0) return serveBroadcast(devices, pdu);
    const device = byUnit.get(unitId);
    if (!device) return; // another slave's frame on a shared bus
    const wire = device.wire();
    if (wire.silent) return countRequest(opts.metrics, device.id, 'silent');
    const res = unknownFunction ? encodeResponse({ fc: pdu[0] ?? 0, exception: EXCEPTION.ILLEGAL_FUNCTION }) : serveRequest(device, pdu);
    if (!res) return;
    countRequest(opts.metrics, device.id, wire.corruptCrc ? 'corrupted' : (res[0]! & 0x80) !== 0 ? 'exception' : 'ok');
    const adu = encodeRtu(unitId, res);
    if (wire.corruptCrc) {
      adu[adu.length - 1]! ^= 0xff;
      adu[adu.length - 2]! ^= 0x5a;
    }
    const busMs = opts.emulateBusTiming === false ? 0 : TURNAROUND_MS + (frame.length + adu.length) * charMs;
    later(() => {
      if (port.isOpen) port.write(adu);
    }, wire.delayMs + busMs);
  };

  const drain = () => {
    while (buf.length >= 2) {
      const pduLength = requestPduLength(buf.subarray(1));
      if (pduLength === undefined || pduLength === -1) return; // wait for more bytes, or for silence
      const total = 1 + pduLength + 2;
      if (buf.length < total) return;
      const frame = Buffer.from(buf.subarray(0, total));
      buf = Buffer.from(buf.subarray(total));
      handle(frame, false);
    }
  };

  port.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (silence) clearTimeout(silence);
    drain();
    if (buf.length > 0) {
      silence = setTimeout(() => {
        silence = undefined;
        // Silence ends whatever is left: an unknown function (answer 01 if the CRC holds) or noise.
        const rest = buf;
        buf = Buffer.alloc(0);
        if (rest.length >= 4) handle(rest, true);
      }, silenceMs);
    }
  });
  port.on('error', (err) => log.warn({ err, path: opts.path }, 'serial port error'));

  return {
    async close() {
      if (silence) clearTimeout(silence);
      for (const t of timers) clearTimeout(t);
      await closeSerial(port);
    },
  };
}
