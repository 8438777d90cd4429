import { join } from 'node:path';
import type { CityModel } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { startSimulatedCity } from '@tamky/firmware-sim';
import { gatewayConfigSchema, startGateway } from '@tamky/edge';

export interface SimulatedGatewaysOptions {
  city: CityModel;
  mqttUrl: string;
  /** Gateway id → MQTT secret. */
  secrets: Record<string, string>;
  dataDir: string;
  host?: string;
  speed?: number;
  healthIntervalMs?: number;
  logger: Logger;
}

/** The city without its LoRaWAN devices and the connector gateways they are read through. */
export function wiredPart(city: CityModel): CityModel {
  const lorawanGateways = new Set(city.devices.filter((d) => d.lorawan).map((d) => d.gateway));
  return {
    ...city,
    gateways: city.gateways.filter((g) => !lorawanGateways.has(g.id)),
    devices: city.devices.filter((d) => !lorawanGateways.has(d.gateway)),
  };
}

/**
 * A simulated city for a trial run: every device of the city model as a Modbus TCP slave, and one
 * real edge gateway per city gateway polling them and publishing to the broker with its own credentials.
 */
export async function startSimulatedGateways(options: SimulatedGatewaysOptions) {
  const { logger } = options;
  // LoRaWAN devices reach the centre through ChirpStack and the LoRaWAN connector (simulated-lorawan.ts), not a wired gateway.
  const city = wiredPart(options.city);
  const sim = await startSimulatedCity({ city, host: options.host ?? '127.0.0.1', speed: options.speed ?? 1 });
  const gateways: Array<Awaited<ReturnType<typeof startGateway>>> = [];
  const close = async () => {
    await Promise.allSettled(gateways.map((g) => g.close()));
    await sim.close();
  };
  try {
    for (const gateway of city.gateways) {
      const devices = city.devices.filter((d) => d.gateway === gateway.id);
      const secret = options.secrets[gateway.id];
      if (!secret) throw new Error(`no MQTT secret for gateway ${gateway.id}`);
      gateways.push(
        await startGateway(
          gatewayConfigSchema.parse({
            gatewayId: gateway.id,
            // The broker binds a gateway's client id to its identity (id, or id:suffix).
            mqtt: { url: options.mqttUrl, username: gateway.id, password: secret, clientId: gateway.id },
            outbox: { path: join(options.dataDir, 'outbox', `${gateway.id}.db`) },
            health: { intervalMs: options.healthIntervalMs ?? 10_000 },
            buses: devices.map((d) => {
              const endpoint = sim.endpoints.get(d.id)!;
              return { id: `tcp-${d.id}`, type: 'tcp' as const, host: endpoint.host, port: endpoint.port, timeoutMs: 1000 };
            }),
            devices: devices.map((d) => ({
              id: d.id,
              profile: d.kind,
              bus: `tcp-${d.id}`,
              unitId: sim.endpoints.get(d.id)!.unitId,
              pollIntervalMs: d.pollIntervalMs,
              ...(d.kind === 'water_level' && d.mountingHeightM ? { overrides: { level: { offset: d.mountingHeightM } } } : {}),
            })),
          }),
          { logger: logger.child({ service: 'edge', gateway: gateway.id }) },
        ),
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { sim, gateways, close };
}
