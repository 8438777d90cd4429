/**
 * Provisions gateways and services on a Mosquitto 2 broker with the dynamic-security plugin, mirroring our
 * broker's ACLs (see dynsec-plan.ts):
 *
 *   npx tsx broker/src/mosquitto/cli.ts --config mosquitto-dynsec.yaml
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '@tamky/protocol';
import { createLogger, loadConfigFile } from '@tamky/service-kit';
import { dynsecProvisioningSchema } from './dynsec-plan';
import { provisionDynsec } from './dynsec-provision';

const log = createLogger('mosquitto-dynsec');
const { values } = parseArgs({ options: { config: { type: 'string' } } });
if (!values.config) {
  console.error('usage: tsx broker/src/mosquitto/cli.ts --config <file.yaml>');
  process.exit(2);
}
try {
  await provisionDynsec(loadConfigFile(values.config, dynsecProvisioningSchema), log);
} catch (err) {
  if (err instanceof ConfigError) console.error(err.message);
  else log.error({ err }, 'provisioning failed');
  process.exit(1);
}
