import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CityModel } from '@tamky/protocol';
import { createLogger, type Logger } from '@tamky/service-kit';
import { createSimDevice, simulatedClock, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayConfigSchema, startGateway, type Gateway } from '@tamky/edge';

export interface GatewayGroupOptions {
  city: CityModel;
  gatewayIds: string[];
  mqttUrl: string;
  /** Gateway id → MQTT secret. */
  secrets: Record<string, string>;
  /** Outboxes go to `<outboxDir>/<gatewayId>.db` (the loss checker's layout). */
  outboxDir: string;
  /** Per gateway: its clock runs this many ms ahead (negative: behind) of real time. */
  clockSkewMs?: Record<string, number>;
  /**
   * A JSON file `{ offsets: { gatewayId: offsetMs }, resolutionMs? }` the harness rewrites while the run goes
   * on (a faketime-like fault hook): a gateway listed there has its clock that far from real time (a changed
   * offset is a clock step), read in steps of `resolutionMs` (a coarse clock, so that a step back lands on
   * times already used, not merely near them).
   */
  clockOffsetFile?: string;
  healthIntervalMs?: number;
  /** Devices disabled: the gateways only forward what their outboxes still hold (the end of a run). */
  drainOnly?: boolean;
  logger?: Logger;
}

export interface GatewayGroup {
  gateways: Map<string, Gateway>;
  close(): Promise<void>;
}

/**
 * K real edge gateways and their simulated devices. Each gateway's devices sit behind ONE Modbus TCP
 * port, by unit id, like a Modbus TCP gateway in front of an RS-485 bus: 20,000 devices then need 200
 * listening sockets and 200 client connections rather than 20,000 of each.
 */
export async function startGatewayGroup(opts: GatewayGroupOptions): Promise<GatewayGroup> {
  const log = opts.logger ?? createLogger('fault-gateways');
  const location = { lat: opts.city.lat, lon: opts.city.lon, timeZone: opts.city.timeZone };
  const now = simulatedClock(1);
  const slaves: TcpSlave[] = [];
  const gateways = new Map<string, Gateway>();
  const offsets = clockOffsets(opts.clockOffsetFile);
  const close = async () => {
    offsets.stop();
    await Promise.allSettled([...gateways.values()].map((g) => g.close()));
    await Promise.allSettled(slaves.map((s) => s.close()));
  };
  try {
    for (const gatewayId of opts.gatewayIds) {
      const devices = opts.city.devices.filter((d) => d.gateway === gatewayId);
      if (devices.length === 0) throw new Error(`gateway ${gatewayId} has no devices in the city model`);
      const sims = devices.map((d, i) => createSimDevice(d, { city: location, now, unitId: i + 1 }));
      const slave = await startModbusTcpSlave(sims, { host: '127.0.0.1', log });
      slaves.push(slave);
      const secret = opts.secrets[gatewayId];
      if (!secret) throw new Error(`no MQTT secret for gateway ${gatewayId}`);
      const skew = opts.clockSkewMs?.[gatewayId] ?? 0;
      const config = gatewayConfigSchema.parse({
        gatewayId,
        mqtt: { url: opts.mqttUrl, username: gatewayId, password: secret, clientId: gatewayId, reconnect: { baseMs: 500, maxMs: 5000 } },
        outbox: { path: join(opts.outboxDir, `${gatewayId}.db`) },
        health: { intervalMs: opts.healthIntervalMs ?? 30_000 },
        buses: [{ id: 'rs485', type: 'tcp', host: '127.0.0.1', port: slave.port, timeoutMs: 2000 }],
        devices: devices.map((d, i) => ({
          id: d.id,
          profile: d.kind,
          bus: 'rs485',
          unitId: i + 1,
          pollIntervalMs: d.pollIntervalMs,
          enabled: !opts.drainOnly,
          ...(d.kind === 'water_level' && d.mountingHeightM ? { overrides: { level: { offset: d.mountingHeightM } } } : {}),
        })),
      });
      const gateway = await startGateway(config, {
        logger: log.child({ gateway: gatewayId }),
        ...(skew || opts.clockOffsetFile ? { now: () => offsets.clock(gatewayId, skew) } : {}),
      });
      gateways.set(gatewayId, gateway);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { gateways, close };
}

/** The clocks `file` describes, re-read every 100 ms (a step takes effect within that). */
function clockOffsets(file: string | undefined): { clock(gatewayId: string, skew: number): number; stop(): void } {
  let current: { offsets: Record<string, number>; resolutionMs?: number } = { offsets: {} };
  const read = () => {
    try {
      current = JSON.parse(readFileSync(file!, 'utf8')) as typeof current;
    } catch {
      // Not written yet, or caught mid-rename: keep the last offsets.
    }
  };
  const timer = file ? setInterval(read, 100) : undefined;
  if (file) read();
  return {
    clock(id, skew) {
      const offset = current.offsets[id];
      if (offset === undefined) return Date.now() + skew;
      const res = current.resolutionMs ?? 1;
      return Math.floor((Date.now() + offset) / res) * res;
    },
    stop: () => clearInterval(timer),
  };
}
