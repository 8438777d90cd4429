import { describe, expect, it } from 'vitest';
import {
  crc16,
  decodeRegisters,
  decodeRequest,
  decodeResponse,
  decodeRtu,
  encodeRegisters,
  encodeRequest,
  encodeResponse,
  encodeRtu,
  interFrameGapMs,
  ModbusError,
  splitTcpFrames,
  encodeTcp,
} from '../src/index';

describe('modbus codec', () => {
  it('computes the same CRC as pymodbus for the SM7901 example reply and a 10-register read', () => {
    // Reference values from pymodbus.utilities.computeCRC, in transmitted byte order (low byte first).
    const wire = (bytes: number[]) => {
      const crc = crc16(Buffer.from(bytes));
      return Buffer.from([crc & 0xff, crc >> 8]).toString('hex');
    };
    expect(wire([0x01, 0x03, 0x02, 0x02, 0x18])).toBe('b92e');
    expect(wire([0x01, 0x03, 0x00, 0x00, 0x00, 0x0a])).toBe('c5cd');
  });

  it('round-trips a read-holding request in an RTU frame', () => {
    const adu = encodeRtu(1, encodeRequest({ fc: 3, address: 0, count: 1 }));
    expect(adu.toString('hex')).toBe('010300000001840a');
    const { unitId, pdu } = decodeRtu(adu);
    expect(unitId).toBe(1);
    expect(decodeRequest(pdu)).toEqual({ fc: 3, address: 0, count: 1 });
  });

  it('rejects a corrupted RTU frame as a CRC error', () => {
    const adu = encodeRtu(1, encodeRequest({ fc: 3, address: 0, count: 1 }));
    adu[3] = adu[3]! ^ 0xff;
    expect(() => decodeRtu(adu)).toThrow(ModbusError);
    try {
      decodeRtu(adu);
    } catch (e) {
      expect((e as ModbusError).code).toBe('crc');
    }
  });

  it('decodes register responses and exceptions against the request', () => {
    const req = { fc: 3 as const, address: 3, count: 2 };
    const res = encodeResponse({ fc: 3, registers: [536, 0xffff] });
    expect(decodeResponse(req, res)).toEqual({ fc: 3, registers: [536, 0xffff] });
    expect(() => decodeResponse(req, encodeResponse({ fc: 3, exception: 2 }))).toThrow(/exception 2/);
  });

  it('splits a TCP stream into MBAP frames, keeping the partial tail', () => {
    const a = encodeTcp(1, 1, encodeRequest({ fc: 4, address: 0, count: 10 }));
    const b = encodeTcp(2, 7, encodeRequest({ fc: 6, address: 5, value: 42 }));
    const stream = Buffer.concat([a, b.subarray(0, 5)]);
    const { frames, rest } = splitTcpFrames(stream);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.transactionId).toBe(1);
    expect(rest.length).toBe(5);
    expect(splitTcpFrames(Buffer.concat([rest, b.subarray(5)])).frames[0]!.unitId).toBe(7);
  });

  it('converts 32-bit values in both word orders', () => {
    for (const order of ['big', 'little'] as const) {
      expect(decodeRegisters(encodeRegisters(123456, 'uint32', order), 'uint32', order)).toBe(123456);
      expect(decodeRegisters(encodeRegisters(-5, 'int32', order), 'int32', order)).toBe(-5);
      expect(decodeRegisters(encodeRegisters(1.5, 'float32', order), 'float32', order)).toBe(1.5);
    }
    expect(encodeRegisters(0x12345678, 'uint32', 'little')).toEqual([0x5678, 0x1234]);
    expect(decodeRegisters([0xfff6], 'int16')).toBe(-10);
  });

  it('uses 3.5 character times between frames, 1.75 ms above 19200 baud', () => {
    expect(interFrameGapMs(9600)).toBeCloseTo(4.01, 2);
    expect(interFrameGapMs(115200)).toBe(1.75);
  });
});
