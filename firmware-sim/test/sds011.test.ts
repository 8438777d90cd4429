import { afterEach, describe, expect, it } from 'vitest';
import { startPtyPair } from '@tamky/test-support';
import { createSimDevice, startSds011 } from '../src/index';
import { city, device, PYTHON, run } from './helpers';

/** pyserial listens on the far end of a pty pair for `seconds` and returns what arrived. */
async function listen(path: string, seconds: number): Promise<Buffer> {
  const script = [
    'import serial, sys',
    `s = serial.Serial(${JSON.stringify(path)}, 9600, timeout=${seconds})`,
    'sys.stdout.write(s.read(4096).hex())',
  ].join('\n');
  const res = await run(PYTHON, ['-c', script]);
  if (res.code !== 0) throw new Error(res.stderr);
  return Buffer.from(res.stdout.trim(), 'hex');
}

function frames(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 10 <= buf.length; i++)
    if (buf[i] === 0xaa && buf[i + 1] === 0xc0 && buf[i + 9] === 0xab) out.push(buf.subarray(i, i + 10));
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

  it('obeys host commands (protocol V1.3): query mode, query data, sleep/work, firmware; ignores a bad checksum', async () => {
    const pty = await startPtyPair();
    cleanup.push(() => pty.stop());
    const sensor = await startSds011({ path: pty.a, device: { pm25: () => 8.8, pm10: () => 20.1 }, intervalMs: 200, id: 0xa1b2 });
    cleanup.push(() => sensor.close());
    // pyserial plays the host: it builds each 19-byte command with its own checksum.
    const script = `
import serial, time, sys
s = serial.Serial(${JSON.stringify(pty.b)}, 9600, timeout=0.8)
def cmd(c, d1=0, d2=0, cs_fix=0, reply=0xC5):
    body = [c, d1, d2] + [0]*10 + [0xFF, 0xFF]
    frame = bytes([0xAA, 0xB4] + body + [(sum(body) + cs_fix) & 0xFF, 0xAB])
    s.reset_input_buffer()
    s.write(frame)
    # In active mode data frames (C0) keep coming; a host skips them while it waits for its reply.
    deadline = time.time() + 0.8
    while time.time() < deadline:
        got = s.read(10)
        if len(got) < 10: return ''
        if got[1] == reply: return got.hex()
    return ''
print("mode", cmd(2, 1, 1))
s.reset_input_buffer(); time.sleep(0.6); print("idle", s.read(64).hex())
print("query", cmd(4, reply=0xC0))
print("badcs", cmd(4, cs_fix=1, reply=0xC0))
print("sleep", cmd(6, 1, 0))
print("asleep", cmd(4, reply=0xC0))
print("work", cmd(6, 1, 1))
print("fw", cmd(7))
`;
    const res = await run(PYTHON, ['-c', script]);
    expect(res.code, res.stderr).toBe(0);
    const out = Object.fromEntries(
      res.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string?])
        .map(([k, v]) => [k, v ?? '']),
    );
    expect(out.mode).toBe('aac50201010' + '0b2a1' + ((0x02 + 1 + 1 + 0 + 0xb2 + 0xa1) & 0xff).toString(16).padStart(2, '0') + 'ab');
    expect(out.idle).toBe(''); // query mode: no unsolicited frames
    const q = Buffer.from(out.query!, 'hex');
    expect(q[1]).toBe(0xc0);
    expect(checksumOk(q)).toBe(true);
    expect(q.readUInt16LE(2) / 10).toBe(8.8);
    expect(q.readUInt16LE(4) / 10).toBe(20.1);
    expect(out.badcs).toBe('');
    expect(out.sleep!.slice(0, 10)).toBe('aac5060100');
    expect(out.asleep).toBe(''); // the fan and laser are off: no answer to queries
    expect(out.work!.slice(0, 10)).toBe('aac5060101');
    expect(out.fw!.slice(0, 6)).toBe('aac507');
  });
});
