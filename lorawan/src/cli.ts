import { parseArgs } from 'node:util';
import { ConfigError } from '@tamky/protocol';
import { closeOnSignals, createLogger, loadConfigFile } from '@tamky/service-kit';
import { connectorConfigSchema } from './config';
import { startConnector } from './connector';

/** `npx tsx lorawan/src/cli.ts --config lorawan.yaml` */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const log = createLogger('lorawan');
  if (!values.config) {
    log.fatal('usage: lorawan --config <lorawan.yaml>');
    process.exit(2);
  }
  const config = loadConfigFile(values.config, connectorConfigSchema);
  const connector = await startConnector(config, { logger: log });
  closeOnSignals([connector], log);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
