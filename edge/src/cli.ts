import { parseArgs } from 'node:util';
import { ConfigError } from '@tamky/protocol';
import { closeOnSignals, createLogger, loadConfigFile } from '@tamky/service-kit';
import { gatewayConfigSchema } from './config';
import { startGateway } from './gateway';

/** `tsx edge/src/cli.ts --config gw.yaml`: runs one gateway until SIGINT/SIGTERM. */
const log = createLogger('edge');
const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
if (!values.config) {
  console.error('usage: tsx edge/src/cli.ts --config <gateway.yaml>');
  process.exit(2);
}
const file = values.config;
try {
  const config = loadConfigFile(file, gatewayConfigSchema);
  const gateway = await startGateway(config, { logger: log, reloadConfig: () => loadConfigFile(file, gatewayConfigSchema) });
  closeOnSignals([gateway], log);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.details);
    process.exit(2);
  }
  log.fatal({ err }, 'gateway failed to start');
  process.exit(1);
}
