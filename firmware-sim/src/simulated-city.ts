import type { CityModel } from '@tamky/protocol';
import { createLogger, type Logger } from '@tamky/service-kit';
import { simulatedClock } from './clock';
import type { SimMetrics } from './metrics';
import { createSimDevice } from './create-sim-device';
import type { SimDevice } from './sim-device';
import { startModbusTcpSlave, type TcpSlave } from './wire/tcp-slave';

export interface SimulatedCityOptions {
  city: CityModel;
  /** Interface the slaves listen on (default 127.0.0.1). */
  host?: string;
  /** Simulated time runs speed× real time (60 = an hour a minute). */
  speed?: number;
  seed?: number;
  /** Base clock (default Date.now); simulated time starts at its value when the city starts. */
  now?: () => number;
  /** Real ms between signal-model updates (default 1000); reads also refresh the device. */
  tickMs?: number;
  /** Simulated start time (epoch ms); default the base clock's now. */
  startAt?: number;
  log?: Logger;
  metrics?: SimMetrics;
}

export interface SimulatedCity {
  devices: Map<string, SimDevice>;
  /** Where the edge reaches each device: one Modbus TCP slave per device (each device its own port). */
  endpoints: Map<string, { host: string; port: number; unitId: number }>;
  /** The simulated clock all devices share. */
  now(): number;
  close(): Promise<void>;
}

export async function startSimulatedCity(opts: SimulatedCityOptions): Promise<SimulatedCity> {
  const log = opts.log ?? createLogger('firmware-sim');
  const host = opts.host ?? '127.0.0.1';
  const now = simulatedClock(opts.speed ?? 1, opts.now, opts.startAt);
  const location = { lat: opts.city.lat, lon: opts.city.lon, timeZone: opts.city.timeZone };
  const devices = new Map<string, SimDevice>();
  const endpoints = new Map<string, { host: string; port: number; unitId: number }>();
  const slaves: TcpSlave[] = [];
  try {
    for (const d of opts.city.devices) {
      const sim = createSimDevice(d, { city: location, seed: opts.seed, now });
      devices.set(d.id, sim);
      const slave = await startModbusTcpSlave([sim], { host, log, metrics: opts.metrics });
      slaves.push(slave);
      endpoints.set(d.id, { host, port: slave.port, unitId: sim.unitId });
    }
  } catch (err) {
    await Promise.all(slaves.map((s) => s.close()));
    throw err;
  }
  const tick = setInterval(() => {
    const t = now();
    for (const d of devices.values()) {
      try {
        d.update(t);
      } catch (err) {
        log.error({ err, device: d.id }, 'signal model failed');
      }
    }
  }, opts.tickMs ?? 1000);
  tick.unref();
  log.info({ devices: devices.size, speed: opts.speed ?? 1 }, 'simulated city started');
  return {
    devices,
    endpoints,
    now,
    async close() {
      clearInterval(tick);
      await Promise.all(slaves.map((s) => s.close()));
    },
  };
}
