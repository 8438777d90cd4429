import { afterEach, describe, expect, it } from 'vitest';
import { startPtyPair } from '@tamky/test-support';
import { createSimDevice, startSds011 } from '../src/index';
import { city, device, PYTHON, run } from './helpers';

/** pyserial listens on the far end of a pty pair for `seconds` and returns what arrived. */
async function listen(path: string, seconds: number): Promise<Buffer> {
  const script = ['import serial, sys', `s = serial.Serial(${JSON.stringify(path)}, 9600, timeout=${seconds})`, 'sys.stdout.write(s.read(4096).hex())'].join('\n');
  const res = await run(PYTHON, ['-c', script]);
  if (res.code !== 0) throw new Error(res.stderr);
  return Buffer.from(res.stdout.trim(), 'hex');
}

function frames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 10 <= buf.length; i++) if (buf[i] === 0xaa && buf[i + 1] === 0xc0 && buf[i + 9] === 0xab) out.push(buf.subarray(i, i + 10));
  return out;
}

const checksumOk = (f: Buffer) => (f[2]! + f[3]! + f[4]! + f[5]! + f[6]! + f[7]!) % 256 === f[8];

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('SDS011 UART sensor on a pty', () => {
  it('sends 10-byte frames with correct checksum and PM = (H·256 + L)/10', async () => {
    const pty = await startPtyPair();
    cleanup.push(() => pty.stop());
    const sensor = await startSds011({ path: pty.a, device: { pm25: () => 12.3, pm10: () => 45.6 }, intervalMs: 200, id: 0xbeef });
    cleanup.push(() => sensor.close());
    const got = frames(await listen(pty.b, 1.5));
    expect(got.length).toBeGreaterThanOrEqual(2);
    for (const f of got) {
      expect(checksumOk(f)).toBe(true);
      expect((f[3]! * 256 + f[2]!) / 10).toBe(12.3);
      expect((f[5]! * 256 + f[4]!) / 10).toBe(45.6);
      expect(f.readUInt16LE(6)).toBe(0xbeef);
    }
  });

  it('backed by a simulated PM sensor: its readings, and its faults (bad checksum, silence)', async () => {
    const pty = await startPtyPair();
    cleanup.push(() => pty.stop());
    const sim = createSimDevice(device('pm_sensor'), { city, seed: 2 });
    const sensor = await startSds011({ path: pty.a, device: sim, intervalMs: 200 });
    cleanup.push(() => sensor.close());
    const good = frames(await listen(pty.b, 1));
    expect(good.length).toBeGreaterThanOrEqual(2);
    expect(good.every(checksumOk)).toBe(true);
    const pm25 = (good[0]![3]! * 256 + good[0]![2]!) / 10;
    expect(pm25).toBeCloseTo(sim.readings().pm25!, 0);

    sim.injectFault({ type: 'crc_error' });
    const bad = frames(await listen(pty.b, 1));
    expect(bad.length).toBeGreaterThanOrEqual(2);
    expect(bad.some(checksumOk)).toBe(false);

    sim.clearFaults();
    sim.injectFault({ type: 'no_answer' });
    await new Promise((r) => setTimeout(r, 300)); // let a frame already queued drain
    expect(frames(await listen(pty.b, 1))).toHaveLength(0);
  });
});
