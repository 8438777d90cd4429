import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPtyPair, waitFor } from '@tamky/test-support';
import { createSimDevice, startModbusRtuSlave, startModbusTcpSlave, type SimDevice } from '../src/index';
import { city, device, mbpoll, mbpollValues } from './helpers';

/** Every fault must be visible to an independent master (mbpoll) on the wire. */
let pty: Awaited<ReturnType<typeof startPtyPair>>;
let rtuSlave: { close(): Promise<void> };
let tcpSlaves: Array<{ close(): Promise<void> }> = [];
let noise: SimDevice;
let light: SimDevice;
let traffic: SimDevice;
let ports: { noise: number; light: number; traffic: number };
let t = Date.parse('2025-03-04T12:00:00+07:00');
const now = () => t;

beforeAll(async () => {
  noise = createSimDevice(device('noise_meter'), { city, seed: 5, now });
  light = createSimDevice(device('street_light'), { city, seed: 5, now });
  traffic = createSimDevice(device('traffic_counter'), { city, seed: 5, now });
  const slaves = await Promise.all([noise, light, traffic].map((d) => startModbusTcpSlave([d])));
  tcpSlaves = slaves;
  ports = { noise: slaves[0]!.port, light: slaves[1]!.port, traffic: slaves[2]!.port };
  pty = await startPtyPair();
  rtuSlave = await startModbusRtuSlave([noise], { path: pty.a, baudRate: 9600 });
});
afterAll(async () => {
  await rtuSlave?.close();
  await pty?.stop();
  for (const s of tcpSlaves) await s.close();
});

const tcp = (port: number, args: string[], timeoutS = '1') =>
  mbpoll(['-m', 'tcp', '-0', '-1', '-o', timeoutS, '-p', String(port), ...args, '127.0.0.1']);
const rtu = (args: string[]) => mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'none', '-0', '-1', '-o', '1', ...args, pty.b]);

describe('wire faults', () => {
  it('no_answer: the master times out; clearing it restores answers', async () => {
    noise.injectFault({ type: 'no_answer' });
    const silent = await tcp(ports.noise, ['-a', '1', '-r', '0']);
    expect(silent.stderr + silent.stdout).toMatch(/timed out/i);
    const silentRtu = await rtu(['-a', '1', '-r', '0']);
    expect(silentRtu.stderr + silentRtu.stdout).toMatch(/timed out/i);
    noise.clearFaults();
    expect((await tcp(ports.noise, ['-a', '1', '-r', '0'])).code).toBe(0);
  });

  it('late_answer: a 1.5 s reply times out a 0.5 s master and satisfies a 5 s one', async () => {
    noise.injectFault({ type: 'late_answer', delayMs: 1500 });
    const impatient = await tcp(ports.noise, ['-a', '1', '-r', '0'], '0.5');
    expect(impatient.stderr + impatient.stdout).toMatch(/timed out/i);
    const patient = await tcp(ports.noise, ['-a', '1', '-r', '0'], '5');
    expect(patient.code, patient.stderr).toBe(0);
    noise.clearFaults();
  });

  it('crc_error: RTU replies carry a bad CRC (libmodbus reports it); TCP answers gateway exception 0x0B', async () => {
    noise.injectFault({ type: 'crc_error' });
    const res = await mbpoll(['-m', 'rtu', '-b', '9600', '-P', 'none', '-0', '-1', '-o', '1', '-v', '-a', '1', '-r', '0', pty.b]);
    expect(res.code).not.toBe(0);
    expect(res.stderr + res.stdout).toMatch(/ERROR CRC received 0x[0-9A-F]+ != CRC calculated/);
    expect(res.stderr + res.stdout).toMatch(/Invalid CRC/);
    const overTcp = await tcp(ports.noise, ['-a', '1', '-r', '0']);
    expect(overTcp.stderr + overTcp.stdout).toMatch(/Target device failed to respond/i);
    noise.clearFaults();
    expect((await rtu(['-a', '1', '-r', '0'])).code).toBe(0);
  });

  it('exception: every request answers the injected code (06 busy)', async () => {
    noise.injectFault({ type: 'exception', code: 6 });
    const res = await tcp(ports.noise, ['-a', '1', '-r', '0']);
    expect(res.stderr + res.stdout).toMatch(/busy/i);
    const overRtu = await rtu(['-a', '1', '-r', '0']);
    expect(overRtu.stderr + overRtu.stdout).toMatch(/busy/i);
    noise.clearFaults();
  });

  it('reboot: silent while down, then uptime and the interval sequence restart', async () => {
    const before = mbpollValues((await tcp(ports.traffic, ['-a', '1', '-t', '3', '-r', '0', '-c', '5'])).stdout);
    const uptimeBefore = before.get(3)! * 65536 + before.get(4)!;
    expect(uptimeBefore).toBeGreaterThan(86_400);
    traffic.injectFault({ type: 'reboot', downMs: 1500 });
    const down = await tcp(ports.traffic, ['-a', '1', '-t', '3', '-r', '0', '-c', '5']);
    expect(down.stderr + down.stdout).toMatch(/timed out/i);
    const after = await waitFor(
      async () => {
        const r = await tcp(ports.traffic, ['-a', '1', '-t', '3', '-r', '0', '-c', '5']);
        return r.code === 0 ? mbpollValues(r.stdout) : undefined;
      },
      { what: 'traffic counter back after reboot', timeoutMs: 15_000, intervalMs: 300 },
    );
    expect(after.get(2)).toBe(0); // no closed interval since power-up
    expect(after.get(3)! * 65536 + after.get(4)!).toBeLessThan(5);
    t += 125_000; // two 60 s intervals later (simulated)
    const later = mbpollValues((await tcp(ports.traffic, ['-a', '1', '-t', '3', '-r', '0', '-c', '5'])).stdout);
    expect(later.get(2)).toBe(2);
    expect(later.get(3)! * 65536 + later.get(4)!).toBe(125);
  });
});

describe('value faults', () => {
  it('lamp_failure: status b1 set, actual level 0, LED driver open circuit; other lamps unaffected', async () => {
    t = Date.parse('2025-03-04T20:00:00+07:00');
    await waitFor(async () => mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '106'])).stdout).get(106) === 100, {
      what: 'lamps on after sunset',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    light.injectFault({ type: 'lamp_failure', lamp: 2 });
    const lamp2 = mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '100', '-c', '81'])).stdout);
    expect(lamp2.get(105)! & 0b10).toBe(0b10);
    expect(lamp2.get(105)! & 0b100).toBe(0); // lamp power not on
    expect(lamp2.get(106)).toBe(0);
    expect(lamp2.get(180)! & 0b10).toBe(0b10);
    const lamp1 = mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '0', '-c', '7'])).stdout);
    expect(lamp1.get(5)! & 0b10).toBe(0);
    expect(lamp1.get(6)).toBe(100);
    light.clearFaults();
  });

  it('day_burner: lamps stay at full output in daylight although the clock commands 0 %', async () => {
    t = Date.parse('2025-03-05T12:00:00+07:00');
    light.injectFault({ type: 'day_burner' });
    const v = mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '0', '-c', '7'])).stdout);
    expect(v.get(0)).toBe(0); // command: off by day
    expect(v.get(6)).toBe(100); // actual: still burning
    expect(v.get(5)! & 0b100).toBe(0b100);
    light.clearFaults();
    await waitFor(async () => mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '6'])).stdout).get(6) === 0, {
      what: 'lamp off after the contactor is fixed',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
  });

  it('power_outage: the controller still answers, mains voltage and lamps read 0; power back sets DALI power-cycle bits', async () => {
    t = Date.parse('2025-03-05T21:00:00+07:00');
    light.injectFault({ type: 'power_outage' });
    const meter = mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '6500', '-c', '7'])).stdout);
    expect(meter.get(6504)).toBe(0);
    expect(meter.get(6500)! * 65536 + meter.get(6501)!).toBe(0);
    expect(mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '6'])).stdout).get(6)).toBe(0);
    light.clearFaults();
    const status = mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '5'])).stdout).get(5)!;
    expect(status & 0b1000_0000).toBe(0b1000_0000);
    expect(mbpollValues((await tcp(ports.light, ['-a', '1', '-r', '6504'])).stdout).get(6504)! / 10).toBeGreaterThan(215);
  });

  it('no_echo: the ultrasonic distance reads 0xFFFF', async () => {
    const water = createSimDevice(device('water_level'), { city, seed: 5, now });
    const slave = await startModbusTcpSlave([water]);
    try {
      water.injectFault({ type: 'no_echo' });
      const v = mbpollValues((await tcp(slave.port, ['-a', '12', '-r', '5'])).stdout);
      expect(v.get(5)).toBe(0xffff);
      water.clearFaults();
      expect(mbpollValues((await tcp(slave.port, ['-a', '12', '-r', '5'])).stdout).get(5)).toBeLessThan(60_000);
    } finally {
      await slave.close();
    }
  });

  it('stuck: the register stops following the signal', async () => {
    noise.injectFault({ type: 'stuck' });
    const first = mbpollValues((await tcp(ports.noise, ['-a', '1', '-r', '0'])).stdout).get(0);
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      t += 3_600_000;
      seen.add(mbpollValues((await tcp(ports.noise, ['-a', '1', '-r', '0'])).stdout).get(0)!);
    }
    expect([...seen]).toEqual([first]);
    noise.clearFaults();
    const moving = new Set<number>();
    for (let i = 0; i < 5; i++) {
      t += 3_600_000;
      moving.add(mbpollValues((await tcp(ports.noise, ['-a', '1', '-r', '0'])).stdout).get(0)!);
    }
    expect(moving.size).toBeGreaterThan(1);
  });

  it('drift: +50 %/h makes the reading run away from the truth', async () => {
    const truth = noise.readings().laeq!;
    noise.injectFault({ type: 'drift', pctPerHour: 50 });
    t += 2 * 3_600_000;
    const drifted = mbpollValues((await tcp(ports.noise, ['-a', '1', '-r', '0'])).stdout).get(0)! / 10;
    expect(drifted).toBeGreaterThan(truth * 1.5);
    noise.clearFaults();
  });

  it('noise: ±30 % scatter between consecutive reads at the same instant', async () => {
    noise.injectFault({ type: 'noise', pct: 30 });
    const reads = new Set<number>();
    for (let i = 0; i < 5; i++) {
      t += 1000; // the meter measures once a second
      reads.add(mbpollValues((await tcp(ports.noise, ['-a', '1', '-r', '0'])).stdout).get(0)!);
    }
    expect(reads.size).toBeGreaterThan(2);
    noise.clearFaults();
  });
});
