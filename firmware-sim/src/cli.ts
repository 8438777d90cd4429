/**
 * Scenario CLI: runs a simulated city and prints where each device can be reached, as JSON on one
 * stdout line (logs go through pino; set LOG_LEVEL=info to see them).
 *
 *   npx tsx firmware-sim/src/cli.ts --city config/tam-ky/city.yaml --speed 60 --fault an-my-air-1:no_answer
 *   npx tsx firmware-sim/src/cli.ts --gateways 10 --devices 20 --seed 7
 *   npx tsx firmware-sim/src/cli.ts --city config/tam-ky/city.yaml --serial /dev/pts/5:air_station:255,/dev/pts/5:an-my-noise-1,/dev/pts/7:sds011
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cityModelSchema, isDeviceKind, type CityModel, type Device } from '@tamky/protocol';
import { closeOnSignals, createLogger, createMetricsRegistry, loadConfigFile, type Closable } from '@tamky/service-kit';
import { startControlServer } from './control';
import { createSimMetrics } from './metrics';
import { createSimDevice } from './create-sim-device';
import { parseFault } from './faults';
import { generateCity } from './generated-city';
import type { SimDevice } from './sim-device';
import { startSimulatedCity } from './simulated-city';
import { startModbusRtuSlave } from './wire/rtu-slave';
import { startSds011 } from './wire/sds011';

const USAGE = `usage: firmware-sim (--city FILE | --gateways N --devices M) [--host H] [--speed X] [--seed S]
       [--start ISO-TIME] [--serial PATH:KIND|ID[:UNIT[:BAUD]],...] [--fault DEVICE:TYPE[:PARAM]]... [--out FILE]
       [--control-port P]   (HTTP: faults, pins, /metrics; loopback)`;

/** Serial line settings per kind from docs/register-maps.md. */
const SERIAL_DEFAULTS: Record<string, { baudRate: number; parity: 'none' | 'even' }> = {
  pm_sensor: { baudRate: 19200, parity: 'even' },
};

interface SerialSpec {
  path: string;
  target: string;
  unitId?: number;
  baudRate?: number;
}

function parseSerial(list: string): SerialSpec[] {
  return list
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      // A path may itself contain ':' only in exotic setups; /dev/pts/N and /dev/ttyUSBN do not.
      const [path, target, unit, baud] = entry.split(':');
      if (!path || !target) throw new Error(`--serial "${entry}": expected PATH:KIND|DEVICE-ID[:UNIT[:BAUD]]`);
      return { path, target, unitId: unit ? Number(unit) : undefined, baudRate: baud ? Number(baud) : undefined };
    });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      city: { type: 'string' },
      gateways: { type: 'string' },
      devices: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      speed: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      start: { type: 'string' },
      serial: { type: 'string', multiple: true },
      fault: { type: 'string', multiple: true },
      out: { type: 'string' },
      'control-port': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const log = createLogger('firmware-sim', process.env.LOG_LEVEL ? {} : { level: 'warn' });
  let city: CityModel;
  if (values.city) city = loadConfigFile(values.city, cityModelSchema);
  else if (values.gateways && values.devices) city = generateCity(Number(values.gateways), Number(values.devices));
  else throw new Error(`give --city FILE or --gateways N --devices M\n${USAGE}`);

  const speed = Number(values.speed);
  const seed = Number(values.seed);
  const startAt = values.start ? Date.parse(values.start) : undefined;
  if (!(speed > 0) || !Number.isFinite(seed) || (startAt !== undefined && Number.isNaN(startAt)))
    throw new Error(`bad --speed, --seed or --start\n${USAGE}`);

  const serialSpecs = (values.serial ?? []).flatMap(parseSerial);
  const onSerial = new Set(serialSpecs.map((s) => s.target));
  // Devices put on a serial line are served there, not also over TCP.
  const tcpCity = { ...city, devices: city.devices.filter((d) => !onSerial.has(d.id)) };
  const registry = createMetricsRegistry('firmware-sim');
  const metrics = createSimMetrics(registry);
  const sim = await startSimulatedCity({ city: tcpCity, host: values.host, speed, seed, startAt, log, metrics });
  const handles: Closable[] = [sim];
  const all = new Map<string, SimDevice>(sim.devices);

  // Serial devices share the city's clock so a demo at --speed 60 moves them together.
  const now = sim.now;
  const location = { lat: city.lat, lon: city.lon, timeZone: city.timeZone };
  const buses = new Map<string, { devices: SimDevice[]; baudRate: number; parity: 'none' | 'even'; sds011?: SimDevice }>();
  const serialOut: Array<{ id: string; kind: string; path: string; unitId?: number; baudRate: number; protocol: 'modbus-rtu' | 'sds011' }> =
    [];
  for (const spec of serialSpecs) {
    const fromCity = city.devices.find((d) => d.id === spec.target);
    const sds = spec.target === 'sds011';
    const kind = fromCity?.kind ?? (sds ? 'pm_sensor' : spec.target);
    if (!isDeviceKind(kind)) throw new Error(`--serial: "${spec.target}" is neither a device id in the city nor a device kind (or sds011)`);
    const base: Device = fromCity ?? {
      id: `serial-${spec.target.replace(/_/g, '-')}-${serialOut.length + 1}`,
      kind,
      name: spec.target,
      ward: city.wards[0]!.id,
      gateway: city.gateways[0]?.id ?? 'serial',
      lat: city.lat,
      lon: city.lon,
      pollIntervalMs: 5000,
      tags: [],
      ...(kind === 'water_level' ? { mountingHeightM: 6, alarmLevels: [2, 3, 4] as [number, number, number] } : {}),
      ...(kind === 'street_light' ? { lamps: 4, ratedPowerW: 120 } : {}),
      ...(kind === 'traffic_counter' ? { lanes: 2 } : {}),
    };
    const device = createSimDevice(base, { city: location, seed, now, unitId: spec.unitId });
    all.set(device.id, device);
    const line = SERIAL_DEFAULTS[kind] ?? { baudRate: 9600, parity: 'none' as const };
    const baudRate = sds ? 9600 : (spec.baudRate ?? line.baudRate);
    const bus = buses.get(spec.path) ?? { devices: [], baudRate, parity: line.parity };
    if (sds) bus.sds011 = device;
    else bus.devices.push(device);
    buses.set(spec.path, bus);
    serialOut.push({
      id: device.id,
      kind,
      path: spec.path,
      unitId: sds ? undefined : device.unitId,
      baudRate,
      protocol: sds ? 'sds011' : 'modbus-rtu',
    });
  }
  for (const [path, bus] of buses) {
    if (bus.sds011 && bus.devices.length) throw new Error(`--serial ${path}: an SDS011 cannot share a line with Modbus devices`);
    handles.push(
      bus.sds011
        ? await startSds011({ path, device: bus.sds011 })
        : await startModbusRtuSlave(bus.devices, { path, baudRate: bus.baudRate, parity: bus.parity, log, metrics }),
    );
  }

  for (const spec of values.fault ?? []) {
    const i = spec.indexOf(':');
    const id = spec.slice(0, i);
    const device = all.get(id);
    if (i < 0 || !device) throw new Error(`--fault "${spec}": unknown device "${id}" (expected DEVICE:TYPE[:PARAM])`);
    device.injectFault(parseFault(spec.slice(i + 1)));
  }

  let control: { host: string; port: number } | undefined;
  if (values['control-port'] !== undefined) {
    const server = await startControlServer({ devices: all, port: Number(values['control-port']), registry });
    handles.unshift(server);
    control = { host: '127.0.0.1', port: server.port };
  }

  const endpoints = {
    city: city.id,
    speed,
    seed,
    devices: city.devices
      .filter((d) => sim.endpoints.has(d.id))
      .map((d) => ({ id: d.id, kind: d.kind, gateway: d.gateway, ...sim.endpoints.get(d.id)! })),
    serial: serialOut,
    ...(control ? { control } : {}),
  };
  const json = JSON.stringify(endpoints);
  if (values.out) writeFileSync(values.out, json + '\n');
  process.stdout.write(json + '\n');
  closeOnSignals(handles, log);
}

main().catch((err: unknown) => {
  process.stderr.write(`firmware-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
