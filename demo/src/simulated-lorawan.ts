import { join } from 'node:path';
import type { CityModel } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { startChirpstackSim } from '@tamky/firmware-sim';
import { startConnector } from '@tamky/lorawan';
import { startChirpstackBroker } from './chirpstack-broker';

export interface SimulatedLorawanOptions {
  city: CityModel;
  /** Our broker, and the secrets of the gateway ids the connectors publish as. */
  mqttUrl: string;
  secrets: Record<string, string>;
  dataDir: string;
  repoRoot: string;
  host?: string;
  speed?: number;
  logger: Logger;
}

const APPLICATION_ID = '6d5db27e-4ce2-4b2b-b5d7-91f069397978';

/**
 * The LoRaWAN district: a broker standing in for ChirpStack's MQTT integration broker, a simulated ChirpStack
 * publishing the district's devices on it, and one real LoRaWAN connector per connector gateway in the city.
 * Nothing when the city has no LoRaWAN devices.
 */
export async function startSimulatedLorawan(options: SimulatedLorawanOptions): Promise<{ close(): Promise<void> }> {
  const { city, logger } = options;
  const connectorIds = [...new Set(city.devices.filter((d) => d.lorawan).map((d) => d.gateway))];
  if (connectorIds.length === 0) return { close: async () => {} };
  const host = options.host ?? '127.0.0.1';
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse())
      await c().catch((err: unknown) => logger.error({ err }, 'error while stopping the LoRaWAN district'));
  };
  try {
    const chirpstackBroker = await startChirpstackBroker(host);
    closers.push(() => chirpstackBroker.close());
    const chirpstackUrl = chirpstackBroker.url;
    for (const id of connectorIds) {
      const connector = await startConnector(
        {
          gatewayId: id,
          mqtt: { url: options.mqttUrl, username: id, password: options.secrets[id], clientId: id },
          chirpstack: { url: chirpstackUrl, clientId: `tamky-${id}`, applicationIds: [APPLICATION_ID] },
          // Follows the registry the dashboard publishes (anonymous read from loopback on the development broker).
          registry: { mqtt: { url: options.mqttUrl, clientId: `${id}-registry` } },
          profilesFile: join(options.repoRoot, 'config/lorawan/profiles.yaml'),
          outbox: { path: join(options.dataDir, 'outbox', `${id}.db`) },
          health: { intervalMs: 10_000 },
        },
        { city, logger: logger.child({ service: 'lorawan', gateway: id }) },
      );
      closers.push(() => connector.close());
    }
    const sim = await startChirpstackSim({
      city,
      url: chirpstackUrl,
      applicationId: APPLICATION_ID,
      speed: options.speed ?? 1,
      log: logger.child({ service: 'chirpstack-sim' }),
    });
    closers.push(() => sim.close());
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}
