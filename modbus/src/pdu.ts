/**
 * Modbus application PDUs (function code + data) for the functions a city's sensors use.
 * Requests and responses are plain objects so drivers, the simulator and tests share one codec.
 */
export const FC = {
  READ_COILS: 0x01,
  READ_DISCRETE_INPUTS: 0x02,
  READ_HOLDING_REGISTERS: 0x03,
  READ_INPUT_REGISTERS: 0x04,
  WRITE_SINGLE_COIL: 0x05,
  WRITE_SINGLE_REGISTER: 0x06,
  WRITE_MULTIPLE_COILS: 0x0f,
  WRITE_MULTIPLE_REGISTERS: 0x10,
} as const;

export const EXCEPTION = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  SERVER_DEVICE_BUSY: 0x06,
} as const;

export type Request =
  | { fc: 0x01 | 0x02 | 0x03 | 0x04; address: number; count: number }
  | { fc: 0x05; address: number; value: boolean }
  | { fc: 0x06; address: number; value: number }
  | { fc: 0x0f; address: number; values: boolean[] }
  | { fc: 0x10; address: number; values: number[] };

export type Response =
  | { fc: 0x01 | 0x02; bits: boolean[] }
  | { fc: 0x03 | 0x04; registers: number[] }
  | { fc: 0x05; address: number; value: boolean }
  | { fc: 0x06; address: number; value: number }
  | { fc: 0x0f | 0x10; address: number; count: number }
  | { fc: number; exception: number };

export class ModbusError extends Error {
  constructor(
    message: string,
    readonly code: 'timeout' | 'crc' | 'exception' | 'frame' | 'closed',
    readonly exceptionCode?: number,
  ) {
    super(message);
    this.name = 'ModbusError';
  }
}

const MAX_READ_REGISTERS = 125;
const MAX_READ_BITS = 2000;

function packBits(bits: boolean[]): Buffer {
  const out = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

function unpackBits(buf: Buffer, count: number): boolean[] {
  return Array.from({ length: count }, (_, i) => ((buf[i >> 3]! >> (i & 7)) & 1) === 1);
}

export function encodeRequest(req: Request): Buffer {
  switch (req.fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04: {
      const max = req.fc <= 0x02 ? MAX_READ_BITS : MAX_READ_REGISTERS;
      if (req.count < 1 || req.count > max) throw new RangeError(`count ${req.count} out of 1..${max}`);
      const b = Buffer.alloc(5);
      b.writeUInt8(req.fc, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.count, 3);
      return b;
    }
    case 0x05: {
      const b = Buffer.alloc(5);
      b.writeUInt8(req.fc, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.value ? 0xff00 : 0x0000, 3);
      return b;
    }
    case 0x06: {
      const b = Buffer.alloc(5);
      b.writeUInt8(req.fc, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.value & 0xffff, 3);
      return b;
    }
    case 0x0f: {
      const data = packBits(req.values);
      const b = Buffer.alloc(6 + data.length);
      b.writeUInt8(req.fc, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.values.length, 3);
      b.writeUInt8(data.length, 5);
      data.copy(b, 6);
      return b;
    }
    case 0x10: {
      if (req.values.length < 1 || req.values.length > 123) throw new RangeError('1..123 registers per write');
      const b = Buffer.alloc(6 + req.values.length * 2);
      b.writeUInt8(req.fc, 0);
      b.writeUInt16BE(req.address, 1);
      b.writeUInt16BE(req.values.length, 3);
      b.writeUInt8(req.values.length * 2, 5);
      req.values.forEach((v, i) => b.writeUInt16BE(v & 0xffff, 6 + i * 2));
      return b;
    }
  }
}

/** Decodes a request PDU (server side). Throws ModbusError('frame') on a malformed one. */
export function decodeRequest(pdu: Buffer): Request {
  const fc = pdu[0];
  const need = (n: number) => {
    if (pdu.length < n) throw new ModbusError(`request for fc ${fc} too short (${pdu.length} bytes)`, 'frame');
  };
  switch (fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
      need(5);
      return { fc, address: pdu.readUInt16BE(1), count: pdu.readUInt16BE(3) };
    case 0x05:
      need(5);
      return { fc, address: pdu.readUInt16BE(1), value: pdu.readUInt16BE(3) === 0xff00 };
    case 0x06:
      need(5);
      return { fc, address: pdu.readUInt16BE(1), value: pdu.readUInt16BE(3) };
    case 0x0f: {
      need(6);
      const count = pdu.readUInt16BE(3);
      need(6 + pdu[5]!);
      return { fc, address: pdu.readUInt16BE(1), values: unpackBits(pdu.subarray(6), count) };
    }
    case 0x10: {
      need(6);
      const count = pdu.readUInt16BE(3);
      need(6 + count * 2);
      return { fc, address: pdu.readUInt16BE(1), values: Array.from({ length: count }, (_, i) => pdu.readUInt16BE(6 + i * 2)) };
    }
    default:
      throw new ModbusError(`unsupported function ${fc}`, 'exception', EXCEPTION.ILLEGAL_FUNCTION);
  }
}

export function encodeResponse(res: Response): Buffer {
  if ('exception' in res) return Buffer.from([res.fc | 0x80, res.exception]);
  switch (res.fc) {
    case 0x01:
    case 0x02: {
      const data = packBits(res.bits);
      return Buffer.concat([Buffer.from([res.fc, data.length]), data]);
    }
    case 0x03:
    case 0x04: {
      const b = Buffer.alloc(2 + res.registers.length * 2);
      b.writeUInt8(res.fc, 0);
      b.writeUInt8(res.registers.length * 2, 1);
      res.registers.forEach((v, i) => b.writeUInt16BE(v & 0xffff, 2 + i * 2));
      return b;
    }
    case 0x05: {
      const b = Buffer.alloc(5);
      b.writeUInt8(res.fc, 0);
      b.writeUInt16BE(res.address, 1);
      b.writeUInt16BE(res.value ? 0xff00 : 0, 3);
      return b;
    }
    case 0x06: {
      const b = Buffer.alloc(5);
      b.writeUInt8(res.fc, 0);
      b.writeUInt16BE(res.address, 1);
      b.writeUInt16BE(res.value & 0xffff, 3);
      return b;
    }
    case 0x0f:
    case 0x10: {
      const b = Buffer.alloc(5);
      b.writeUInt8(res.fc, 0);
      b.writeUInt16BE(res.address, 1);
      b.writeUInt16BE(res.count, 3);
      return b;
    }
    default:
      throw new RangeError(`cannot encode response for fc ${(res as { fc: number }).fc}`);
  }
}

/**
 * Decodes a response PDU against the request it answers; a Modbus exception becomes a thrown
 * ModbusError('exception'), a response that does not match the request a ModbusError('frame').
 */
export function decodeResponse(req: Request, pdu: Buffer): Response {
  const fc = pdu[0]!;
  if (fc === (req.fc | 0x80)) {
    throw new ModbusError(`exception ${pdu[1]} for fc ${req.fc}`, 'exception', pdu[1]);
  }
  if (fc !== req.fc) throw new ModbusError(`response fc ${fc} does not match request fc ${req.fc}`, 'frame');
  switch (req.fc) {
    case 0x01:
    case 0x02: {
      const n = pdu[1]!;
      if (n !== Math.ceil(req.count / 8) || pdu.length < 2 + n) throw new ModbusError('bit response length mismatch', 'frame');
      return { fc: req.fc, bits: unpackBits(pdu.subarray(2), req.count) };
    }
    case 0x03:
    case 0x04: {
      const n = pdu[1]!;
      if (n !== req.count * 2 || pdu.length < 2 + n)
        throw new ModbusError(`register response has ${n} bytes, expected ${req.count * 2}`, 'frame');
      return { fc: req.fc, registers: Array.from({ length: req.count }, (_, i) => pdu.readUInt16BE(2 + i * 2)) };
    }
    case 0x05:
      return { fc: 0x05, address: pdu.readUInt16BE(1), value: pdu.readUInt16BE(3) === 0xff00 };
    case 0x06:
      return { fc: 0x06, address: pdu.readUInt16BE(1), value: pdu.readUInt16BE(3) };
    case 0x0f:
    case 0x10:
      return { fc: req.fc, address: pdu.readUInt16BE(1), count: pdu.readUInt16BE(3) };
  }
}

/** Length of a response PDU for `req`, or of an exception (2), known from its first bytes; undefined until knowable. */
export function responsePduLength(req: Request, head: Uint8Array): number | undefined {
  if (head.length < 1) return undefined;
  if (head[0]! & 0x80) return 2;
  switch (req.fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
      return head.length < 2 ? undefined : 2 + head[1]!;
    default:
      return 5;
  }
}

/** Length of a request PDU known from its first bytes (server side); undefined until knowable, -1 if unknown fc. */
export function requestPduLength(head: Uint8Array): number | undefined {
  if (head.length < 1) return undefined;
  switch (head[0]) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
      return 5;
    case 0x0f:
    case 0x10:
      return head.length < 6 ? undefined : 6 + head[5]!;
    default:
      return -1;
  }
}
