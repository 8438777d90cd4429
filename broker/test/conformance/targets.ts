import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '@tamky/service-kit';
import { startMosquitto } from '@tamky/test-support';
import { brokerConfigSchema, startBroker } from '../../src/index';
import { silentLogger } from '../helpers';

/** A broker under test: where it listens, and how to stop it. */
export interface Target {
  name: string;
  ours: boolean;
  /** Where the tests' topics live: somewhere the publisher below may publish and retain. */
  namespace: string;
  /** Credentials of a client that may publish there (anonymous when absent). */
  publisher?: { username: string; password: string; clientIdPrefix: string };
  start(): Promise<{ port: number; close(): Promise<void> }>;
}

const developmentConfig = fileURLToPath(new URL('../../config/development.yaml', import.meta.url));

export const targets: Target[] = [
  {
    name: 'our broker (development profile)',
    ours: true,
    // Anonymous clients are read-only: the dashboard service publishes (and retains) under config/ (README: topic rights).
    namespace: 'city/v1/config',
    publisher: { username: 'dashboard', password: 'dashboard-dev-secret', clientIdPrefix: 'dashboard-' },
    async start() {
      // broker/config/development.yaml as shipped, on a free port and without its fixed WebSocket/metrics ports.
      const config = { ...loadConfigFile(developmentConfig, brokerConfigSchema), listeners: { mqtt: { host: '127.0.0.1', port: 0 } } };
      delete config.metrics;
      const broker = await startBroker(config, { logger: await silentLogger() });
      return { port: broker.ports.mqtt, close: () => broker.close() };
    },
  },
  {
    name: 'Mosquitto 2.0.11 (validates the tests)',
    ours: false,
    namespace: 'conf',
    async start() {
      const mosquitto = await startMosquitto();
      return { port: mosquitto.port, close: () => mosquitto.stop() };
    },
  },
];
