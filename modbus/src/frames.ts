import { crc16 } from './crc';
import { ModbusError } from './pdu';

/** RTU ADU: unit id, PDU, CRC (low byte first). */
export function encodeRtu(unitId: number, pdu: Buffer): Buffer {
  const out = Buffer.alloc(pdu.length + 3);
  out.writeUInt8(unitId, 0);
  pdu.copy(out, 1);
  const crc = crc16(out, 0, pdu.length + 1);
  out.writeUInt16LE(crc, pdu.length + 1);
  return out;
}

/** Splits an RTU ADU into unit id and PDU; throws ModbusError('crc') when the checksum is wrong. */
export function decodeRtu(adu: Buffer): { unitId: number; pdu: Buffer } {
  if (adu.length < 4) throw new ModbusError(`RTU frame too short (${adu.length} bytes)`, 'frame');
  const expected = crc16(adu, 0, adu.length - 2);
  const got = adu.readUInt16LE(adu.length - 2);
  if (expected !== got) throw new ModbusError(`CRC mismatch: got 0x${got.toString(16)}, expected 0x${expected.toString(16)}`, 'crc');
  return { unitId: adu[0]!, pdu: adu.subarray(1, adu.length - 2) };
}

/** TCP ADU: MBAP header (transaction id, protocol 0, length, unit id) and PDU. */
export function encodeTcp(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const out = Buffer.alloc(7 + pdu.length);
  out.writeUInt16BE(transactionId & 0xffff, 0);
  out.writeUInt16BE(0, 2);
  out.writeUInt16BE(pdu.length + 1, 4);
  out.writeUInt8(unitId, 6);
  pdu.copy(out, 7);
  return out;
}

/**
 * Pulls complete MBAP frames out of a TCP byte stream. Returns the frames and the unconsumed tail;
 * a header announcing an impossible length throws, since the stream cannot be resynchronised.
 */
export function splitTcpFrames(buf: Buffer): { frames: Array<{ transactionId: number; unitId: number; pdu: Buffer }>; rest: Buffer } {
  const frames: Array<{ transactionId: number; unitId: number; pdu: Buffer }> = [];
  let offset = 0;
  while (buf.length - offset >= 7) {
    const protocol = buf.readUInt16BE(offset + 2);
    const length = buf.readUInt16BE(offset + 4);
    if (protocol !== 0 || length < 2 || length > 254)
      throw new ModbusError(`bad MBAP header (protocol ${protocol}, length ${length})`, 'frame');
    if (buf.length - offset < 6 + length) break;
    frames.push({
      transactionId: buf.readUInt16BE(offset),
      unitId: buf[offset + 6]!,
      pdu: Buffer.from(buf.subarray(offset + 7, offset + 6 + length)),
    });
    offset += 6 + length;
  }
  return { frames, rest: Buffer.from(buf.subarray(offset)) };
}

/** Time of one character on the wire: 11 bits (start, 8 data, parity or 2nd stop, stop). */
export function charTimeMs(baudRate: number): number {
  return (11 * 1000) / baudRate;
}

/** Minimum silence between RTU frames: 3.5 character times, fixed at 1.75 ms above 19200 baud. */
export function interFrameGapMs(baudRate: number): number {
  return baudRate > 19200 ? 1.75 : 3.5 * charTimeMs(baudRate);
}
