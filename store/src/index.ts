export { storeConfigSchema, sqliteStoreConfigSchema, influxStoreConfigSchema, victoriaStoreConfigSchema, retentionSchema } from './config';
export type { StoreConfig, SqliteStoreConfig, InfluxStoreConfig, VictoriaStoreConfig, RetentionConfig } from './config';
export { openStore, type OpenStoreOptions } from './open-store';
export { SqliteStore, type RetentionResult, type SqliteStoreOptions } from './sqlite/sqlite-store';
export { SqliteWorkerStore } from './sqlite/worker-store';
export { InfluxStore, InfluxWriteError } from './influx/influx-store';
export { readingToLine, deadLetterToLine, escapeMeasurement, escapeTagOrKey, escapeStringField } from './influx/line-protocol';
export { quoteIdentifier, quoteString } from './influx/influxql';
export { VictoriaStore } from './victoria/victoria-store';
