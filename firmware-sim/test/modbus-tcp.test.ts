import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type SimDevice } from '../src/index';
import { city, device, mbpoll, mbpollValues, PYTHON, run } from './helpers';

/**
 * mbpoll (libmodbus) is the independent master: it must read exactly what docs/register-maps.md says.
 * One slave per device, as startSimulatedCity does, plus one multi-device gateway slave.
 */
const kinds = ['air_station', 'pm_sensor', 'noise_meter', 'water_level', 'street_light', 'traffic_counter'] as const;
const sims = new Map<string, SimDevice>();
const ports = new Map<string, number>();
const closers: Array<() => Promise<void>> = [];
const RUSH_HOUR = Date.parse('2025-03-04T07:30:00+07:00'); // a Tuesday

beforeAll(async () => {
  for (const kind of kinds) {
    const sim = createSimDevice(device(kind), { city, seed: 7, now: () => RUSH_HOUR });
    const slave = await startModbusTcpSlave([sim]);
    sims.set(kind, sim);
    ports.set(kind, slave.port);
    closers.push(slave.close);
  }
});
afterAll(async () => {
  for (const close of closers) await close();
});

const tcp = (kind: string, args: string[]) =>
  mbpoll(['-m', 'tcp', '-0', '-1', '-o', '2', '-p', String(ports.get(kind)), ...args, '127.0.0.1']);
const tcpWrite = (kind: string, args: string[], values: number[]) =>
  mbpoll(['-m', 'tcp', '-0', '-1', '-o', '2', '-p', String(ports.get(kind)), ...args, '127.0.0.1', ...values.map(String)]);

describe('Modbus TCP slave read by mbpoll', () => {
  it('air station: unit 255, eight holding registers from 0x0003, pinned values exact', async () => {
    const sim = sims.get('air_station')!;
    const raw = [12, 45, 150, 80, 35, 60, 6950, 7800]; // ... CO 150 = 1500 µg/m³, 29.5 °C, 78 %
    raw.forEach((v, i) => sim.pin('holding', 3 + i, v));
    const res = await tcp('air_station', ['-a', '255', '-t', '4', '-r', '3', '-c', '8']);
    expect(res.code, res.stderr).toBe(0);
    expect([...mbpollValues(res.stdout).entries()]).toEqual(raw.map((v, i) => [3 + i, v]));
  });

  it('air station: unpinned values decode to plausible Tam Kỳ air', async () => {
    const sim = sims.get('air_station')!;
    for (let a = 3; a <= 10; a++) sim.unpin('holding', a);
    const v = mbpollValues((await tcp('air_station', ['-a', '255', '-r', '3', '-c', '8'])).stdout);
    const temperature = v.get(9)! / 100 - 40;
    const humidity = v.get(10)! / 100;
    expect(temperature).toBeGreaterThan(10);
    expect(temperature).toBeLessThan(42);
    expect(humidity).toBeGreaterThan(25);
    expect(humidity).toBeLessThanOrEqual(100);
    expect(v.get(7)!).toBeGreaterThan(0); // PM2.5
    expect(v.get(8)!).toBeGreaterThanOrEqual(v.get(7)!); // PM10 ≥ PM2.5
  });

  it('noise meter: holding 0 = dB(A) × 10 (536 → 53.6 dB), model code 7901 at 0x64', async () => {
    const sim = sims.get('noise_meter')!;
    sim.pin('holding', 0, 536);
    const level = mbpollValues((await tcp('noise_meter', ['-a', '1', '-r', '0'])).stdout);
    expect(level.get(0)).toBe(536);
    expect(level.get(0)! * 0.1).toBeCloseTo(53.6, 5);
    const ident = mbpollValues((await tcp('noise_meter', ['-a', '1', '-r', '100', '-c', '4'])).stdout);
    expect(ident.get(100)).toBe(7901);
    expect(ident.get(102)).toBe(1);
    expect(ident.get(103)).toBe(3);
  });

  it('PM sensor: input registers 3..5 = PM1/PM2.5/PM10 × 10; holding 0..2 = 19200 8E1 address 1', async () => {
    const sim = sims.get('pm_sensor')!;
    sim.pin('input', 4, 253);
    sim.pin('input', 5, 417);
    const pm = mbpollValues((await tcp('pm_sensor', ['-a', '1', '-t', '3', '-r', '3', '-c', '3'])).stdout);
    expect(pm.get(4)).toBe(253);
    expect(pm.get(5)).toBe(417);
    expect(pm.get(3)!).toBeGreaterThan(0);
    const cfg = mbpollValues((await tcp('pm_sensor', ['-a', '1', '-t', '4', '-r', '0', '-c', '3'])).stdout);
    expect([...cfg.values()]).toEqual([4, 2, 1]);
  });

  it('water level: unit 12, PID/VID, distance in 0.1 mm consistent with mounting height', async () => {
    const sim = sims.get('water_level')!;
    const v = mbpollValues((await tcp('water_level', ['-a', '12', '-r', '0', '-c', '9'])).stdout);
    expect(v.get(0)).toBe(2);
    expect(v.get(1)).toBe(0x10);
    expect(v.get(2)).toBe(12);
    expect(v.get(3)).toBe(3);
    const level = 6 - v.get(5)! * 0.0001;
    expect(level).toBeCloseTo(sim.readings().level!, 1);
    expect(level).toBeGreaterThan(0);
    expect(level).toBeLessThan(2); // below alarm 1 without a flood
    sim.pin('holding', 5, 0xffff);
    expect(mbpollValues((await tcp('water_level', ['-a', '12', '-r', '5'])).stdout).get(5)).toBe(65535);
    sim.unpin('holding', 5);
  });

  it('traffic counter: input block 0..49 in one read, lanes, interval, per-class counts', async () => {
    const v = mbpollValues((await tcp('traffic_counter', ['-a', '1', '-t', '3', '-r', '0', '-c', '50'])).stdout);
    expect(v.size).toBe(50);
    expect(v.get(0)).toBe(2);
    expect(v.get(1)).toBe(60);
    const uptime = v.get(3)! * 65536 + v.get(4)!;
    expect(uptime).toBeGreaterThan(86_400); // in service for days
    for (const lane of [1, 2]) {
      const [bikes = 0, cars = 0, buses = 0, trucks = 0] = [0, 1, 2, 3].map((k) => v.get(10 * lane + k)!);
      // Weekday 07:30: a busy minute, mostly motorbikes.
      expect(bikes + cars + buses + trucks).toBeGreaterThan(10);
      expect(bikes / (bikes + cars + buses + trucks)).toBeGreaterThan(0.7);
      expect(v.get(10 * lane + 4)! / 10).toBeGreaterThan(5); // speed km/h
      expect(v.get(10 * lane + 5)! / 10).toBeGreaterThan(0); // occupancy %
    }
    expect(v.get(30)).toBe(0); // lane 3 absent on a 2-lane counter
  });

  it('street light: cabinet meter power = Σ lamps, voltage 220–230 V, mode register', async () => {
    const v = mbpollValues((await tcp('street_light', ['-a', '1', '-r', '6500', '-c', '11'])).stdout);
    const voltage = v.get(6504)! / 10;
    expect(voltage).toBeGreaterThan(215);
    expect(voltage).toBeLessThan(235);
    expect(v.get(6510)).toBe(0);
    expect(v.get(6500)! * 65536 + v.get(6501)!).toBeGreaterThan(0);
  });
});

describe('writes', () => {
  it('FC06 to a lamp arc level command: the actual level follows after the fade', async () => {
    const sim = sims.get('street_light')!;
    const res = await tcpWrite('street_light', ['-a', '1', '-r', '200'], [37]);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    await waitFor(async () => mbpollValues((await tcp('street_light', ['-a', '1', '-r', '206'])).stdout).get(206) === 37, {
      what: 'lamp 3 actual level 37',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    const status = mbpollValues((await tcp('street_light', ['-a', '1', '-r', '205'])).stdout).get(205)!;
    expect(status & 0b100).toBe(0b100); // b2 lamp power on
    // The cabinet meter sees the lamp: ≥ 37 % of 100 W.
    expect(sim.readings().power!).toBeGreaterThan(37);
  });

  it('writes to read-only registers answer exception 02 (illegal data address)', async () => {
    const res = await tcpWrite('street_light', ['-a', '1', '-r', '206'], [50]);
    expect(res.code).not.toBe(0);
    expect(res.stderr + res.stdout).toMatch(/Illegal data address/i);
    const air = await tcpWrite('air_station', ['-a', '255', '-r', '7'], [1]);
    expect(air.stderr + air.stdout).toMatch(/Illegal data address/i);
  });

  it('out-of-range value to a writable register answers exception 03 (illegal data value)', async () => {
    const res = await tcpWrite('street_light', ['-a', '1', '-r', '0'], [150]);
    expect(res.stderr + res.stdout).toMatch(/Illegal data value/i);
  });

  it('reading an address the device does not have answers exception 02', async () => {
    const res = await tcp('air_station', ['-a', '255', '-r', '0', '-c', '3']);
    expect(res.stderr + res.stdout).toMatch(/Illegal data address/i);
  });

  it('FC16 (pymodbus write_registers) sets the traffic interval; the counter reports it', async () => {
    const port = ports.get('traffic_counter')!;
    const script = [
      'import sys',
      'from pymodbus.client import ModbusTcpClient',
      `c = ModbusTcpClient("127.0.0.1", port=${port}, timeout=3)`,
      'c.connect()',
      'w = c.write_registers(0, [300], slave=1)',
      'print("fc", w.function_code)',
      'r = c.read_input_registers(1, 1, slave=1)',
      'print("interval", r.registers[0])',
      'bad = c.write_registers(0, [5], slave=1)',
      'print("bad", bad.function_code, getattr(bad, "exception_code", None))',
      'c.close()',
    ].join('\n');
    const res = await run(PYTHON, ['-c', script]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('fc 16');
    expect(res.stdout).toContain('interval 300');
    expect(res.stdout).toContain('bad 144 3'); // 0x90: exception to FC16, code 03
    expect(sims.get('traffic_counter')!.bank.getHolding(0)).toBe(300);
  });
});

describe('unit id routing', () => {
  it('unit 0 on a single-device port addresses the device itself', async () => {
    sims.get('noise_meter')!.pin('holding', 0, 612);
    const v = mbpollValues((await tcp('noise_meter', ['-a', '0', '-r', '0'])).stdout);
    expect(v.get(0)).toBe(612);
  });

  it('an unknown unit id on a multi-device gateway answers exception 0x0B', async () => {
    const a = createSimDevice(device('noise_meter', { id: 'n1' }), { city, seed: 1, unitId: 1 });
    const b = createSimDevice(device('water_level', { id: 'w1' }), { city, seed: 1 });
    const gw = await startModbusTcpSlave([a, b]);
    try {
      a.pin('holding', 0, 700);
      const one = mbpoll(['-m', 'tcp', '-0', '-1', '-p', String(gw.port), '-a', '1', '-r', '0', '127.0.0.1']);
      const twelve = mbpoll(['-m', 'tcp', '-0', '-1', '-p', String(gw.port), '-a', '12', '-r', '0', '127.0.0.1']);
      const seven = mbpoll(['-m', 'tcp', '-0', '-1', '-p', String(gw.port), '-a', '7', '-r', '0', '127.0.0.1']);
      expect(mbpollValues((await one).stdout).get(0)).toBe(700);
      expect(mbpollValues((await twelve).stdout).get(0)).toBe(2);
      const r7 = await seven;
      expect(r7.stderr + r7.stdout).toMatch(/Target device failed to respond/i);
    } finally {
      await gw.close();
    }
  });
});
