import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPtyPair } from '@tamky/test-support';
import { createSimDevice, startModbusRtuSlave, type SimDevice } from '../src/index';
import { city, device, mbpoll, mbpollValues, PYTHON, run } from './helpers';

/** One RS-485 bus on a socat pty pair: the slave on one end, mbpoll (libmodbus RTU) on the other. */
let pty: Awaited<ReturnType<typeof startPtyPair>>;
let slave: { close(): Promise<void> };
let noise: SimDevice;
let water: SimDevice;
let air: SimDevice;

beforeAll(async () => {
  pty = await startPtyPair();
  noise = createSimDevice(device('noise_meter'), { city, seed: 3 });
  water = createSimDevice(device('water_level'), { city, seed: 3 });
  air = createSimDevice(device('air_station'), { city, seed: 3 });
  slave = await startModbusRtuSlave([noise, water, air], { path: pty.a, baudRate: 9600 });
});
afterAll(async () => {
  await slave?.close();
  await pty?.stop();
});

const rtu = (args: string[]) => mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'none', '-0', '-1', '-o', '1', ...args, pty.b]);

describe('Modbus RTU slave on a pty, read by mbpoll', () => {
  it('three devices share the bus, each answering its own unit id', async () => {
    noise.pin('holding', 0, 536);
    const n = await rtu(['-a', '1', '-r', '0']);
    expect(n.code, n.stderr).toBe(0);
    expect(mbpollValues(n.stdout).get(0)).toBe(536); // 53.6 dB(A)
    const w = mbpollValues((await rtu(['-a', '12', '-r', '0', '-c', '4'])).stdout);
    expect([...w.values()]).toEqual([2, 0x10, 12, 3]);
    // libmodbus (mbpoll) refuses RTU unit ids above 247, so pymodbus reads the air station at its factory 255.
    air.pin('holding', 7, 42);
    const script = [
      'from pymodbus.client import ModbusSerialClient',
      `c = ModbusSerialClient(${JSON.stringify(pty.b)}, baudrate=9600, timeout=2)`,
      'c.connect()',
      'r = c.read_holding_registers(3, 8, slave=255)',
      'print("regs", *r.registers)',
      'c.close()',
    ].join('\n');
    const res = await run(PYTHON, ['-c', script]);
    expect(res.code, res.stderr).toBe(0);
    const regs = res.stdout
      .match(/regs ([\d ]+)/)![1]!
      .trim()
      .split(' ')
      .map(Number);
    expect(regs).toHaveLength(8);
    expect(regs[4]).toBe(42);
    expect(regs[6]! / 100 - 40).toBeGreaterThan(10); // temperature
  });

  it('a unit id nobody has gets no answer (the master times out)', async () => {
    const res = await rtu(['-a', '9', '-r', '0']);
    expect(res.code).not.toBe(0);
    expect(res.stderr + res.stdout).toMatch(/timed out/i);
  });

  it('FC06 write over RTU changes the device; a read-only register answers exception 02', async () => {
    const ok = await mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'none', '-0', '-1', '-a', '12', '-r', '8', pty.b, '8']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(water.bank.getHolding(8)).toBe(8);
    const bad = await mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'none', '-0', '-1', '-a', '12', '-r', '5', pty.b, '100']);
    expect(bad.stderr + bad.stdout).toMatch(/Illegal data address/i);
  });

  it('line noise and a truncated frame are dropped at the silence; the next request is answered', async () => {
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path: pty.b, baudRate: 9600 });
    await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
    port.write(Buffer.from([0x01, 0x03, 0x00])); // a request cut off mid-frame
    await new Promise<void>((resolve) => port.drain(() => resolve()));
    await new Promise((r) => setTimeout(r, 100)); // silence: the slave discards it
    port.write(Buffer.from([0x55, 0xaa, 0x13, 0x37, 0x00, 0xff, 0x42])); // noise with an unknown "function"
    await new Promise<void>((resolve) => port.drain(() => resolve()));
    await new Promise((r) => setTimeout(r, 100));
    await new Promise<void>((resolve) => port.close(() => resolve()));
    noise.pin('holding', 0, 555);
    const res = await rtu(['-a', '1', '-r', '0']);
    expect(res.code, res.stderr).toBe(0);
    expect(mbpollValues(res.stdout).get(0)).toBe(555);
  });
});
