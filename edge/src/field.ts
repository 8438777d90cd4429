import type { DeviceHealth } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { BusQueue } from './bus/bus-queue';
import { Poller, type PollerSinks } from './bus/poller';
import { profilesDirOf, rtuGapMs, type BusConfig, type GatewayConfig } from './config';
import { ModbusDevice } from './devices/modbus-device';
import { StreamDevice } from './devices/stream-device';
import { CommandError, type PollOutcome } from './devices/types';
import { openLineSource } from './drivers/line-protocol';
import { openRtuLink } from './drivers/modbus-rtu';
import { openTcpLink } from './drivers/modbus-tcp';
import { openSds011 } from './drivers/sds011';
import type { LinkStateListener, ModbusLink, StreamSource } from './drivers/types';
import { profileLoader } from './profile/load';

export interface FieldSide {
  /** Polls now; resolves with each device's outcome (a device that does not answer is an outcome, not an error). */
  readNow(deviceId?: string): Promise<Array<{ device: string; outcome: PollOutcome }>>;
  setPollInterval(deviceId: string, ms: number): void;
  write(deviceId: string, field: string, value: number): Promise<{ address: number; registers: number[] }>;
  health(): DeviceHealth[];
  close(): Promise<void>;
}

/**
 * Everything on the field side of the gateway: one link and one queue per bus, one device object and
 * one poller per configured device. Rebuilt as a whole on reload_config.
 */
export function startField(
  config: GatewayConfig,
  sinks: PollerSinks & { onBusEvent(busId: string, type: string, detail: string): void },
  log: Logger,
  now: () => number,
): FieldSide {
  const load = profileLoader(profilesDirOf(config));
  const links = new Map<string, { link?: ModbusLink; stream?: StreamSource; queue: BusQueue; bus: BusConfig }>();
  const streamDevices = new Map<string, StreamDevice>();
  const pollers = new Map<string, Poller>();
  const devicesByBus = new Map<string, string[]>();
  for (const d of config.devices) if (d.enabled) devicesByBus.set(d.bus, [...(devicesByBus.get(d.bus) ?? []), d.id]);

  for (const bus of config.buses) {
    if (!devicesByBus.has(bus.id)) continue; // no open port for a bus nobody uses
    const busLog = log.child({ bus: bus.id });
    const onState: LinkStateListener = (state, detail) =>
      sinks.onBusEvent(bus.id, state === 'open' ? 'bus_open' : 'bus_lost', detail ?? '');
    const queue = new BusQueue(bus.id);
    switch (bus.type) {
      case 'tcp':
        links.set(bus.id, {
          link: openTcpLink({ host: bus.host, port: bus.port, gapMs: bus.interFrameGapMs }, busLog, onState),
          queue,
          bus,
        });
        break;
      case 'rtu':
        links.set(bus.id, { link: openRtuLink({ ...bus, gapMs: rtuGapMs(bus) }, busLog, onState), queue, bus });
        break;
      case 'sds011':
      case 'line': {
        const deviceId = devicesByBus.get(bus.id)![0]!;
        const d = config.devices.find((x) => x.id === deviceId)!;
        const dev = new StreamDevice(d.id, bus.id, load(d.profile), d.overrides, d.pollIntervalMs, now);
        streamDevices.set(d.id, dev);
        const handlers = { onFrame: dev.onFrame.bind(dev), onBadFrame: dev.onBadFrame.bind(dev), onState };
        const stream = bus.type === 'sds011' ? openSds011(bus, handlers, busLog) : openLineSource(bus, handlers, busLog);
        links.set(bus.id, { stream, queue, bus });
        break;
      }
    }
  }

  for (const d of config.devices) {
    if (!d.enabled) continue;
    const entry = links.get(d.bus)!;
    const device =
      streamDevices.get(d.id) ??
      new ModbusDevice(
        {
          id: d.id,
          busId: d.bus,
          unitId: d.unitId,
          profile: load(d.profile),
          overrides: d.overrides,
          fields: d.fields,
          pollIntervalMs: d.pollIntervalMs,
          timeoutMs: 'timeoutMs' in entry.bus ? entry.bus.timeoutMs : 1000,
          now,
        },
        entry.queue,
        entry.link!,
      );
    const poller = new Poller(device, sinks, { maxBackoffMs: config.deviceBackoffMaxMs, now });
    pollers.set(d.id, poller);
    poller.start();
  }
  log.info({ buses: links.size, devices: pollers.size }, 'field side started');

  const pollerOf = (id: string) => {
    const p = pollers.get(id);
    if (!p) throw new CommandError(`unknown device "${id}"`, 'unknown_device');
    return p;
  };

  return {
    async readNow(deviceId) {
      const targets = deviceId ? [pollerOf(deviceId)] : [...pollers.values()];
      return Promise.all(targets.map(async (p) => ({ device: p.device.id, outcome: await p.readNow() })));
    },
    setPollInterval(deviceId, ms) {
      pollerOf(deviceId).setInterval(ms);
    },
    write(deviceId, field, value) {
      return pollerOf(deviceId).device.write(field, value);
    },
    health: () => [...pollers.values()].map((p) => p.device.stats.toHealth()),
    async close() {
      for (const p of pollers.values()) p.stop();
      for (const { link, stream, queue } of links.values()) {
        queue.close();
        await link?.close();
        await stream?.close();
      }
    },
  };
}
