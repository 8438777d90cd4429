import { hashString } from '../random';
import type { SimDevice } from '../sim-device';
import { closeSerial, openSerial } from './serial';

export type PmSource = SimDevice | { pm25: () => number; pm10: () => number };

/** One SDS011 data frame: `AA C0 PM25_L PM25_H PM10_L PM10_H ID1 ID2 CS AB`, PM in 0.1 µg/m³. */
export function sds011Frame(pm25: number, pm10: number, id: number, corruptChecksum = false): Buffer {
  const f = Buffer.alloc(10);
  f[0] = 0xaa;
  f[1] = 0xc0;
  f.writeUInt16LE(Math.min(0xffff, Math.max(0, Math.round(pm25 * 10))), 2);
  f.writeUInt16LE(Math.min(0xffff, Math.max(0, Math.round(pm10 * 10))), 4);
  f.writeUInt16LE(id & 0xffff, 6);
  let cs = 0;
  for (let i = 2; i <= 7; i++) cs += f[i]!;
  f[8] = (cs + (corruptChecksum ? 0x55 : 0)) & 0xff;
  f[9] = 0xab;
  return f;
}

function isSimDevice(src: PmSource): src is SimDevice {
  return 'bank' in src;
}

/** A reply frame `AA C5 cmd d1 d2 d3 ID1 ID2 CS AB` (checksum over bytes 2..7). */
export function sds011Reply(cmd: number, d1: number, d2: number, d3: number, id: number): Buffer {
  const f = Buffer.from([0xaa, 0xc5, cmd, d1, d2, d3, id & 0xff, (id >> 8) & 0xff, 0, 0xab]);
  f[8] = (f[2]! + f[3]! + f[4]! + f[5]! + f[6]! + f[7]!) & 0xff;
  return f;
}

const CMD = { REPORTING_MODE: 2, QUERY: 4, SLEEP_WORK: 6, FIRMWARE: 7, WORKING_PERIOD: 8 } as const;

/**
 * A Nova Fitness SDS011 (laser dust sensor protocol V1.3): 9600 8N1. Factory state is "active" mode, a data
 * frame every second, no request. It also obeys the host commands (19-byte `AA B4 cmd … FF FF CS AB`):
 * reporting mode active/query, query data, sleep/work, working period (report every n minutes), firmware
 * version; commands with a bad checksum or another device id are ignored. Backed by a simulated device
 * (its pm25/pm10 readings and faults: no_answer/reboot silence it, crc_error corrupts the checksum,
 * late_answer delays frames) or by two functions.
 */
export async function startSds011(opts: {
  path: string;
  device: PmSource;
  intervalMs?: number;
  id?: number;
}): Promise<{ close(): Promise<void> }> {
  const port = await openSerial({ path: opts.path, baudRate: 9600 });
  const src = opts.device;
  const id = opts.id ?? (isSimDevice(src) ? hashString(src.id) & 0xffff : 0x1234);
  const timers = new Set<NodeJS.Timeout>();
  const state = { queryMode: false, asleep: false, periodMin: 0, lastReport: 0 };

  const send = (frame: Buffer, delay: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (port.isOpen) port.write(frame);
    }, delay);
    timers.add(timer);
  };
  /** Wire faults of the backing device: undefined when it is silent. */
  const wire = () => (isSimDevice(src) ? src.wire() : { silent: false, delayMs: 0, corruptCrc: false });

  const dataFrame = (): Buffer | undefined => {
    const w = wire();
    if (w.silent) return undefined;
    let pm25: number;
    let pm10: number;
    if (isSimDevice(src)) {
      src.refresh(src.now());
      const r = src.readings();
      pm25 = r.pm25 ?? 0;
      pm10 = r.pm10 ?? 0;
    } else {
      pm25 = src.pm25();
      pm10 = src.pm10();
    }
    return sds011Frame(pm25, pm10, id, w.corruptCrc);
  };

  const tick = () => {
    if (state.queryMode || state.asleep) return;
    if (state.periodMin > 0 && Date.now() - state.lastReport < state.periodMin * 60_000) return;
    state.lastReport = Date.now();
    const frame = dataFrame();
    if (frame) send(frame, wire().delayMs);
  };

  const command = (c: Buffer) => {
    let cs = 0;
    for (let i = 2; i <= 16; i++) cs += c[i]!;
    if ((cs & 0xff) !== c[17]) return;
    const target = c.readUInt16LE(15);
    if (target !== 0xffff && target !== id) return;
    const w = wire();
    if (w.silent) return;
    const [cmd, set, value] = [c[2]!, c[3] === 1, c[4]!];
    if (state.asleep && !(cmd === CMD.SLEEP_WORK && set && value === 1)) return; // asleep: only "work" wakes it
    let reply: Buffer | undefined;
    switch (cmd) {
      case CMD.REPORTING_MODE:
        if (set) state.queryMode = value === 1;
        reply = sds011Reply(cmd, c[3]!, state.queryMode ? 1 : 0, 0, id);
        break;
      case CMD.QUERY:
        reply = dataFrame();
        break;
      case CMD.SLEEP_WORK:
        if (set) state.asleep = value === 0;
        reply = sds011Reply(cmd, c[3]!, state.asleep ? 0 : 1, 0, id);
        break;
      case CMD.WORKING_PERIOD:
        if (set) state.periodMin = Math.min(30, value);
        reply = sds011Reply(cmd, c[3]!, state.periodMin, 0, id);
        break;
      case CMD.FIRMWARE:
        reply = sds011Reply(cmd, 18, 11, 16, id); // firmware 2018-11-16
        break;
    }
    if (reply) send(reply, w.delayMs);
  };

  let rx: Buffer = Buffer.alloc(0);
  port.on('data', (chunk: Buffer) => {
    rx = Buffer.concat([rx, chunk]);
    for (;;) {
      const start = rx.indexOf(0xaa);
      if (start < 0) {
        rx = Buffer.alloc(0);
        return;
      }
      rx = rx.subarray(start);
      if (rx.length < 19) return;
      if (rx[1] === 0xb4 && rx[18] === 0xab) {
        command(Buffer.from(rx.subarray(0, 19)));
        rx = rx.subarray(19);
      } else rx = rx.subarray(1);
    }
  });
  port.on('error', () => undefined);

  const interval = setInterval(tick, opts.intervalMs ?? 1000);
  return {
    async close() {
      clearInterval(interval);
      for (const t of timers) clearTimeout(t);
      await closeSerial(port);
    },
  };
}
