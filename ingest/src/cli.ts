import { parseArgs } from 'node:util';
import { cityModelSchema, ConfigError } from '@tamky/protocol';
import { closeOnSignals, createLogger, loadConfigFile } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { ingestConfigSchema } from './config';
import { missingIngestNodeFlags } from './node-flags';
import { startIngestWithAlarms } from './with-alarms';

/** `npm start -w ingest -- --config ingest.yaml` (or `npm run start:dev -w ingest -- …` from the sources): see node-flags.ts. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const log = createLogger('ingest');
  if (!values.config) {
    log.fatal('usage: ingest --config <ingest.yaml>');
    process.exit(2);
  }
  const missing = missingIngestNodeFlags();
  if (missing.length > 0)
    log.warn({ missing }, 'started without the node flags of its start script (npm start, docker-compose.yml): more CPU per reading');
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
