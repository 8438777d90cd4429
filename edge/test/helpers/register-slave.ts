import { createServer, type AddressInfo, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import {
  crc16,
  decodeRequest,
  encodeResponse,
  encodeRtu,
  encodeTcp,
  EXCEPTION,
  requestPduLength,
  splitTcpFrames,
  type Request,
  type Response,
} from '@tamky/modbus';

/**
 * Minimal Modbus slaves for tests (TCP and RTU on a pty), built on the shared codec: holding and input
 * registers per unit id; units listed in `silent` never answer (a dead slave on the bus).
 */
export class Registers {
  readonly holding = new Map<number, Map<number, number>>();
  readonly input = new Map<number, Map<number, number>>();
  readonly silent = new Set<number>();
  requests = new Map<number, number>();

  set(unit: number, table: 'holding' | 'input', address: number, values: number[]): void {
    const t = this[table];
    if (!t.has(unit)) t.set(unit, new Map());
    values.forEach((v, i) => t.get(unit)!.set(address + i, v & 0xffff));
  }

  get(unit: number, table: 'holding' | 'input', address: number): number | undefined {
    return this[table].get(unit)?.get(address);
  }

  answer(unit: number, req: Request): Response | undefined {
    this.requests.set(unit, (this.requests.get(unit) ?? 0) + 1);
    if (this.silent.has(unit)) return undefined;
    const read = (t: Map<number, Map<number, number>>, address: number, count: number): Response => {
      const regs = t.get(unit);
      const out: number[] = [];
      for (let a = address; a < address + count; a++) {
        const v = regs?.get(a);
        if (v === undefined) return { fc: req.fc, exception: EXCEPTION.ILLEGAL_DATA_ADDRESS };
        out.push(v);
      }
      return { fc: req.fc as 0x03 | 0x04, registers: out };
    };
    switch (req.fc) {
      case 0x03:
        return read(this.holding, req.address, req.count);
      case 0x04:
        return read(this.input, req.address, req.count);
      case 0x06:
        if (this.get(unit, 'holding', req.address) === undefined) return { fc: req.fc, exception: EXCEPTION.ILLEGAL_DATA_ADDRESS };
        this.set(unit, 'holding', req.address, [req.value]);
        return { fc: 0x06, address: req.address, value: req.value };
      case 0x10:
        this.set(unit, 'holding', req.address, req.values);
        return { fc: 0x10, address: req.address, count: req.values.length };
      default:
        return { fc: req.fc, exception: EXCEPTION.ILLEGAL_FUNCTION };
    }
  }
}

export async function startTcpSlave(regs: Registers): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let rest: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      const split = splitTcpFrames(Buffer.concat([rest, chunk]));
      rest = split.rest;
      for (const f of split.frames) {
        let res: Response | undefined;
        try {
          res = regs.answer(f.unitId, decodeRequest(f.pdu));
        } catch {
          res = { fc: f.pdu[0]!, exception: EXCEPTION.ILLEGAL_FUNCTION };
        }
        if (res) socket.write(encodeTcp(f.transactionId, f.unitId, encodeResponse(res)));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** An RTU slave on one end of a pty pair; frames are cut by the request length the function code implies. */
export async function startRtuSlave(path: string, regs: Registers, baudRate = 9600): Promise<{ close(): Promise<void>; port: SerialPort }> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let buf: Buffer = Buffer.alloc(0);
  port.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const len = requestPduLength(buf.subarray(1));
      if (len === undefined) return;
      if (len < 0) {
        buf = Buffer.alloc(0);
        return;
      }
      if (buf.length < len + 3) return;
      const frame = buf.subarray(0, len + 3);
      buf = buf.subarray(len + 3);
      if (crc16(frame, 0, frame.length - 2) !== frame.readUInt16LE(frame.length - 2)) continue;
      const unit = frame[0]!;
      const res = regs.answer(unit, decodeRequest(Buffer.from(frame.subarray(1, frame.length - 2))));
      if (res) port.write(encodeRtu(unit, encodeResponse(res)));
    }
  });
  return { port, close: () => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())) };
}
