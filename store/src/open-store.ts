import type { TimeSeriesStore } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { storeConfigSchema, type StoreConfig } from './config';
import { InfluxStore } from './influx/influx-store';
import { SqliteStore } from './sqlite/sqlite-store';
import { SqliteWorkerStore } from './sqlite/worker-store';
import { VictoriaStore } from './victoria/victoria-store';

export interface OpenStoreOptions {
  logger?: Logger;
  /** The handle never writes (the dashboard). SQLite opens the file read-only; InfluxDB rejects writes. */
  readonly?: boolean;
}

/** Validates the config (defaults applied) and opens the store it names. */
export async function openStore(config: StoreConfig, opts: OpenStoreOptions = {}): Promise<TimeSeriesStore> {
  const parsed = storeConfigSchema.parse(config);
  if (parsed.type === 'sqlite') {
    if (!parsed.worker || opts.readonly) return new SqliteStore(parsed, opts);
    const store = new SqliteWorkerStore(parsed, opts.logger);
    await store.init();
    return store;
  }
  if (parsed.type === 'victoriametrics') {
    const store = new VictoriaStore(parsed, opts);
    await store.init();
    return store;
  }
  const store = new InfluxStore(parsed, opts);
  await store.init();
  return store;
}
