import { parseArgs } from 'node:util';
import { cityModelSchema, ConfigError } from '@tamky/protocol';
import { closeOnSignals, createLogger, loadConfigFile } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { ingestConfigSchema } from './config';
import { startIngestWithAlarms } from './with-alarms';

/** `npx tsx ingest/src/cli.ts --config ingest.yaml` */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const log = createLogger('ingest');
  if (!values.config) {
    log.fatal('usage: ingest --config <ingest.yaml>');
    process.exit(2);
  }
  const config = loadConfigFile(values.config, ingestConfigSchema);
  if (!config.store)
    throw new ConfigError(values.config, `${values.config}: store: required (e.g. { type: sqlite, path: ./data/readings.db })`);
  if (!config.city) throw new ConfigError(values.config, `${values.config}: city: required (path of the city model)`);
  const city = loadConfigFile(config.city, cityModelSchema);
  const store = await openStore(config.store as StoreConfig, { logger: log });
  const ingest = await startIngestWithAlarms(config, { store, city, logger: log });
  closeOnSignals([ingest, store], log);
}

main().catch((err) => {
  const log = createLogger('ingest');
  if (err instanceof ConfigError) log.fatal(err.details);
  else log.fatal({ err }, 'ingest failed to start');
  process.exit(1);
});
