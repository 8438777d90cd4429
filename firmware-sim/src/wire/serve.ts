import { decodeRequest, encodeResponse, EXCEPTION, ModbusError, type Response } from '@tamky/modbus';
import type { SimDevice } from '../sim-device';

const exception = (fc: number, code: number): Buffer => encodeResponse({ fc, exception: code });

/**
 * Answers one request PDU as the device would: fresh values, the register map, the device's
 * exception faults. Returns undefined for a PDU too malformed to answer (a real slave stays silent).
 */
export function serveRequest(device: SimDevice, pdu: Buffer): Buffer | undefined {
  const fc = pdu[0] ?? 0;
  let req;
  try {
    req = decodeRequest(pdu);
  } catch (err) {
    if (err instanceof ModbusError && err.code === 'exception') return exception(fc, err.exceptionCode ?? EXCEPTION.ILLEGAL_FUNCTION);
    return undefined;
  }
  const faulty = device.wire().exception;
  if (faulty !== undefined) return exception(fc, faulty);
  device.refresh(device.now());
  let res: Response;
  switch (req.fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04: {
      const max = req.fc <= 0x02 ? 2000 : 125;
      if (req.count < 1 || req.count > max) return exception(fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const table = req.fc === 0x01 ? 'coil' : req.fc === 0x02 ? 'discrete' : req.fc === 0x03 ? 'holding' : 'input';
      const data = device.read(table, req.address, req.count);
      if (typeof data === 'number') return exception(fc, data);
      res = req.fc === 0x01 || req.fc === 0x02 ? { fc: req.fc, bits: data.map((b) => b === 1) } : { fc: req.fc, registers: data };
      break;
    }
    case 0x05:
    case 0x06: {
      const code = device.write(req.fc === 0x05 ? 'coil' : 'holding', req.address, [Number(req.value)]);
      if (code !== undefined) return exception(fc, code);
      res = req.fc === 0x05 ? { fc: 0x05, address: req.address, value: req.value } : { fc: 0x06, address: req.address, value: req.value };
      break;
    }
    case 0x0f:
    case 0x10: {
      const values = req.fc === 0x0f ? req.values.map(Number) : req.values;
      const byteCount = pdu[5]!;
      const expectedBytes = req.fc === 0x0f ? Math.ceil(values.length / 8) : values.length * 2;
      if (values.length < 1 || values.length > (req.fc === 0x0f ? 1968 : 123) || byteCount !== expectedBytes)
        return exception(fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const code = device.write(req.fc === 0x0f ? 'coil' : 'holding', req.address, values);
      if (code !== undefined) return exception(fc, code);
      res = { fc: req.fc, address: req.address, count: values.length };
      break;
    }
  }
  // A write takes effect at once (a command starts its fade now); a read leaves the model alone.
  if (req.fc !== 0x01 && req.fc !== 0x02 && req.fc !== 0x03 && req.fc !== 0x04) device.update(device.now());
  return encodeResponse(res);
}

/** Broadcast (unit 0, writes only): every device executes, nobody answers. */
export function serveBroadcast(devices: Iterable<SimDevice>, pdu: Buffer): void {
  const fc = pdu[0];
  if (fc !== 0x05 && fc !== 0x06 && fc !== 0x0f && fc !== 0x10) return;
  for (const d of devices) if (!d.wire().silent) serveRequest(d, pdu);
}
