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

/**
 * A Nova Fitness SDS011 in its factory "active" mode: 9600 8N1, a frame every second, no request.
 * Backed by a simulated device (its pm25/pm10 readings and its faults: no_answer/reboot silence it,
 * crc_error corrupts the checksum, late_answer shifts the frame) or by two functions.
 */
export async function startSds011(opts: { path: string; device: PmSource; intervalMs?: number; id?: number }): Promise<{ close(): Promise<void> }> {
  const port = await openSerial({ path: opts.path, baudRate: 9600 });
  const src = opts.device;
  const id = opts.id ?? (isSimDevice(src) ? hashString(src.id) & 0xffff : 0x1234);
  const timers = new Set<NodeJS.Timeout>();
  const emit = () => {
    let pm25: number;
    let pm10: number;
    let corrupt = false;
    let delay = 0;
    if (isSimDevice(src)) {
      const wire = src.wire();
      if (wire.silent) return;
      src.refresh(src.now());
      const r = src.readings();
      pm25 = r.pm25 ?? 0;
      pm10 = r.pm10 ?? 0;
      corrupt = wire.corruptCrc;
      delay = wire.delayMs;
    } else {
      pm25 = src.pm25();
      pm10 = src.pm10();
    }
    const frame = sds011Frame(pm25, pm10, id, corrupt);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (port.isOpen) port.write(frame);
    }, delay);
    timers.add(timer);
  };
  const interval = setInterval(emit, opts.intervalMs ?? 1000);
  return {
    async close() {
      clearInterval(interval);
      for (const t of timers) clearTimeout(t);
      await closeSerial(port);
    },
  };
}
