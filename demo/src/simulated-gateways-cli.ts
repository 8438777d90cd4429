import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cityModelSchema } from '@tamky/protocol';
import { closeOnSignals, createLogger, loadConfigFile } from '@tamky/service-kit';
import { startSimulatedGateways } from './simulated-gateways';

/**
 * Simulated devices and real gateways against an external broker (docker-compose profile
 * `simulation`): `tsx demo/src/simulated-gateways-cli.ts --city config/tam-ky/city.yaml
 * --mqtt mqtt://broker:1883 --credentials deploy/simulation/gateways.json`.
 * The credentials file maps gateway id → secret, as written by deploy/scripts/provision-gateway.ts --simulation.
 */
const { values } = parseArgs({
  options: {
    city: { type: 'string', default: 'config/tam-ky/city.yaml' },
    mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    credentials: { type: 'string' },
    data: { type: 'string', default: 'data/simulated-gateways' },
    speed: { type: 'string', default: '1' },
  },
});
const log = createLogger('simulated-gateways');
if (!values.credentials) {
  log.fatal('--credentials <file> is required (gateway id → secret JSON)');
  process.exit(2);
}
const city = loadConfigFile(values.city!, cityModelSchema);
const secrets = JSON.parse(readFileSync(values.credentials, 'utf8')) as Record<string, string>;
const handle = await startSimulatedGateways({
  city,
  mqttUrl: values.mqtt!,
  secrets,
  dataDir: values.data!,
  speed: Number(values.speed),
  logger: log,
});
log.info({ gateways: handle.gateways.length, devices: city.devices.length }, 'simulated gateways running');
closeOnSignals([handle], log);
