import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { cityModelSchema, type CityModel, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger, loadConfigFile, loadLimits, type Logger } from '@tamky/service-kit';
import { hashSecret, startBroker } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngestWithAlarms } from '@tamky/ingest';
import { startDashboard } from '@tamky/dashboard-server';
import { createAlarmsModule } from '@tamky/dashboard-server/alarms';
import { startSimulatedGateways } from './simulated-gateways';
import { startSimulatedLorawan } from './simulated-lorawan';
import { loadOrCreateCredentials, type DemoCredentials } from './credentials';
import { applyScenario, type Scenario } from './scenarios';
import { backfillHistory } from './backfill';
import { startDemoProviders, type DemoProviders } from './fake-providers';
import { createDemoModule } from './demo-module';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface CityDemoOptions {
  cityFile?: string;
  dataDir: string;
  host?: string;
  /** 0 picks free ports (tests). */
  mqttPort?: number;
  httpPort?: number;
  /** Simulated time runs this many times faster than real time. */
  speed?: number;
  pollIntervalMs?: number;
  /** Days of simulated history written on the first start (empty store); 0 or absent: none. */
  historyDays?: number;
  logger?: Logger;
}

export interface CityDemo {
  city: CityModel;
  credentials: DemoCredentials;
  store: TimeSeriesStore;
  sim: Awaited<ReturnType<typeof startSimulatedGateways>>['sim'];
  /** The local Zalo, SMS and mail servers the demo's notifications go to. */
  providers: DemoProviders;
  /** Injects a scenario's faults into the running simulation (see scenarios.ts); returns what it did. */
  scenario(name: Scenario): Promise<string[]>;
  urls: { dashboard: string; mqtt: string };
  close(): Promise<void>;
}

/**
 * The whole system in one process, wired exactly as the separate services are in production: the
 * gateways reach the simulated devices over Modbus TCP and the centre over MQTT with their own
 * credentials; nothing takes a shortcut through memory.
 */
export async function startCityDemo(options: CityDemoOptions): Promise<CityDemo> {
  const log = options.logger ?? createLogger('demo');
  const host = options.host ?? '127.0.0.1';
  const cityFile = options.cityFile ?? join(REPO_ROOT, 'config/tam-ky/city.yaml');
  const city = loadConfigFile(cityFile, cityModelSchema);
  if (options.pollIntervalMs) for (const d of city.devices) d.pollIntervalMs = options.pollIntervalMs;
  mkdirSync(options.dataDir, { recursive: true });
  const credentials = loadOrCreateCredentials(
    join(options.dataDir, 'demo-credentials.json'),
    city.gateways.map((g) => g.id),
  );
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        log.error({ err }, 'error while stopping the demo');
      }
    }
  };

  try {
    const broker = await startBroker(
      {
        profile: 'development',
        listeners: { mqtt: { host, port: options.mqttPort ?? 1883 } },
        credentials: {
          gateways: await Promise.all(
            city.gateways.map(async (g) => ({ id: g.id, secretHash: await hashSecret(credentials.gateways[g.id]!) })),
          ),
          services: [
            { username: 'ingest', secretHash: await hashSecret(credentials.services.ingest), role: 'ingest' as const },
            { username: 'dashboard', secretHash: await hashSecret(credentials.services.dashboard), role: 'dashboard' as const },
          ],
        },
      },
      { logger: log.child({ service: 'broker' }) },
    );
    closers.push(() => broker.close());
    const mqttUrl = `mqtt://${host}:${broker.ports.mqtt}`;

    const store = await openStore(
      { type: 'sqlite', path: join(options.dataDir, 'readings.db') },
      { logger: log.child({ service: 'store' }) },
    );
    closers.push(() => store.close());
    if (options.historyDays) {
      const history = await backfillHistory({
        city,
        store,
        limits: loadLimits(join(REPO_ROOT, 'config/limits')),
        days: options.historyDays,
      });
      if (history.done) log.info(history, `${options.historyDays} days of simulated history written`);
    }

    const ingestMqtt = { url: mqttUrl, username: 'ingest', password: credentials.services.ingest, clientId: 'ingest-demo' };
    const ingest = await startIngestWithAlarms(
      {
        mqtt: ingestMqtt,
        limitsDir: join(REPO_ROOT, 'config/limits'),
        alarms: { rulesFile: join(REPO_ROOT, 'config/rules/default.yaml') },
      },
      { store, city, logger: log.child({ service: 'ingest' }) },
    );
    closers.push(() => ingest.close());

    const providers = await startDemoProviders(join(REPO_ROOT, 'config/notify/policy.yaml'));
    closers.push(() => providers.close());
    const demoModule = createDemoModule();

    const users = await Promise.all(
      (Object.keys(credentials.users) as Array<keyof DemoCredentials['users']>).map(async (role) => ({
        username: role,
        displayName: role,
        role,
        passwordHash: await hashSecret(credentials.users[role]),
      })),
    );
    const dashboard = await startDashboard(
      {
        http: { host, port: options.httpPort ?? 8080 },
        mqtt: { url: mqttUrl, username: 'dashboard', password: credentials.services.dashboard, clientId: 'dashboard-demo' },
        stateDb: join(options.dataDir, 'state.db'),
        webDist: join(REPO_ROOT, 'dashboard/web/dist'),
        // Approximate ward areas beside the city file when there are some; no basemap: the demo works offline.
        ...(existsSync(join(dirname(cityFile), 'wards.geojson'))
          ? {
              map: {
                wardAreas: join(dirname(cityFile), 'wards.geojson'),
                ...(existsSync(join(dirname(cityFile), 'map-layers.yaml')) ? { layers: join(dirname(cityFile), 'map-layers.yaml') } : {}),
              },
            }
          : {}),
        users,
        kioskTokens: [{ name: 'demo-wall', tokenHash: await hashSecret(credentials.kioskToken) }],
        // The residents' page (/public): every ward, air, noise and flood, as the city would publish it.
        public: { show: { aqi: [], noise: [], flood: [] } },
      },
      {
        store,
        city,
        modules: [createAlarmsModule({ rulesFile: join(REPO_ROOT, 'config/rules/default.yaml'), notify: providers.policy }), demoModule],
        logger: log.child({ service: 'dashboard' }),
      },
    );
    closers.push(() => dashboard.close());

    const simulated = await startSimulatedGateways({
      city,
      mqttUrl,
      secrets: credentials.gateways,
      dataDir: options.dataDir,
      host,
      speed: options.speed ?? 1,
      logger: log,
    });
    closers.push(() => simulated.close());
    const sim = simulated.sim;
    const lorawan = await startSimulatedLorawan({
      city,
      mqttUrl,
      secrets: credentials.gateways,
      dataDir: options.dataDir,
      repoRoot: REPO_ROOT,
      host,
      speed: options.speed ?? 1,
      logger: log,
    });
    closers.push(() => lorawan.close());

    const scenario = (name: Scenario) =>
      applyScenario(name, {
        city,
        devices: sim.devices,
        stopGateway: async (id) => {
          const i = city.gateways.findIndex((g) => g.id === id);
          await simulated.gateways[i]?.close();
        },
      });
    demoModule.bind(scenario);
    return { city, credentials, store, sim, providers, scenario, urls: { dashboard: dashboard.url, mqtt: mqttUrl }, close };
  } catch (err) {
    await close();
    throw err;
  }
}
