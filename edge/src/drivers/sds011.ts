import type { Logger } from '@tamky/service-kit';
import { openResilientPort, type SerialSettings } from './serial-port';
import type { FrameValues, StreamHandlers, StreamSource } from './types';

const FRAME = 10;
const HEAD = 0xaa;
const CMD = 0xc0;
const TAIL = 0xab;

/**
 * Incremental parser for the SDS011 data frame `AA C0 PM25_L PM25_H PM10_L PM10_H ID1 ID2 CS AB`
 * (CS = sum of bytes 2..7 & 0xFF, PM = (H·256 + L) / 10 µg/m³). Resynchronises on the next 0xAA after
 * noise or a bad frame, so one corrupted byte costs one frame, not the stream.
 */
export class Sds011Parser {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly handlers: Pick<StreamHandlers, 'onFrame' | 'onBadFrame'>) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const start = this.buf.indexOf(HEAD);
      if (start < 0) {
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.buf.length - start < FRAME) {
        this.buf = this.buf.subarray(start);
        return;
      }
      const f = this.buf.subarray(start, start + FRAME);
      if (f[1] !== CMD || f[9] !== TAIL) {
        // Not a frame start after all: skip this 0xAA and look for the next.
        this.buf = this.buf.subarray(start + 1);
        continue;
      }
      let sum = 0;
      for (let i = 2; i <= 7; i++) sum += f[i]!;
      if ((sum & 0xff) !== f[8]) {
        this.handlers.onBadFrame('crc', `SDS011 checksum 0x${f[8]!.toString(16)} != 0x${(sum & 0xff).toString(16)}`);
        this.buf = this.buf.subarray(start + 1);
        continue;
      }
      const values: FrameValues = { pm25: f.readUInt16LE(2) / 10, pm10: f.readUInt16LE(4) / 10, id: f.readUInt16BE(6) };
      this.buf = this.buf.subarray(start + FRAME);
      this.handlers.onFrame(values);
    }
  }
}

export function encodeSds011Frame(pm25: number, pm10: number, id = 0x1234): Buffer {
  const f = Buffer.alloc(FRAME);
  f[0] = HEAD;
  f[1] = CMD;
  f.writeUInt16LE(Math.round(pm25 * 10), 2);
  f.writeUInt16LE(Math.round(pm10 * 10), 4);
  f.writeUInt16BE(id, 6);
  let sum = 0;
  for (let i = 2; i <= 7; i++) sum += f[i]!;
  f[8] = sum & 0xff;
  f[9] = TAIL;
  return f;
}

export function openSds011(settings: SerialSettings, handlers: StreamHandlers, log: Logger): StreamSource {
  const parser = new Sds011Parser(handlers);
  const port = openResilientPort(settings, { onData: (c) => parser.push(c), onState: handlers.onState }, log);
  return { isOpen: () => port.isOpen(), close: () => port.close() };
}
