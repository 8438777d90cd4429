import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '@tamky/service-kit';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createIngestMetrics(withDefaults = true) {
  const registry: Registry = createMetricsRegistry('ingest', withDefaults);
  return {
    registry,
    points: new Counter({
      name: 'ingest_points_total',
      help: 'Readings durably stored (raw), rate() gives points/s',
      registers: [registry],
    }),
    values: new Counter({ name: 'ingest_values_total', help: 'Field values durably stored (raw)', registers: [registry] }),
    derived: new Counter({
      name: 'ingest_derived_points_total',
      help: 'Derived readings stored',
      labelNames: ['kind'],
      registers: [registry],
    }),
    messages: new Counter({ name: 'ingest_messages_total', help: 'MQTT messages received', labelNames: ['type'], registers: [registry] }),
    batchReadings: new Histogram({
      name: 'ingest_batch_readings',
      help: 'Readings per store write',
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000],
      registers: [registry],
    }),
    writeSeconds: new Histogram({
      name: 'ingest_store_write_seconds',
      help: 'Store write latency (one batch, until durable)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    writeFailures: new Counter({
      name: 'ingest_store_write_failures_total',
      help: 'Failed store writes (retried with backoff)',
      registers: [registry],
    }),
    lagSeconds: new Histogram({
      name: 'ingest_consumer_lag_seconds',
      help: 'now − reading ts when the reading became durable',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86_400],
      registers: [registry],
    }),
    lastLag: new Gauge({
      name: 'ingest_consumer_lag_last_seconds',
      help: 'Lag of the newest reading of the last batch',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'ingest_dead_letters_total',
      help: 'Rejected input by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    redeliveries: new Counter({
      name: 'ingest_redeliveries_total',
      help: 'Redelivered telemetry: MQTT dup flag, or a (gateway, seq) seen recently',
      labelNames: ['signal'],
      registers: [registry],
    }),
    unackedMessages: new Gauge({
      name: 'ingest_unacked_messages',
      help: 'Messages held unacknowledged (in flight to the store)',
      registers: [registry],
    }),
    unackedBytes: new Gauge({ name: 'ingest_unacked_bytes', help: 'Payload bytes held unacknowledged', registers: [registry] }),
    observerErrors: new Counter({
      name: 'ingest_observer_errors_total',
      help: 'Errors thrown by reading observers',
      registers: [registry],
    }),
    registryUpdates: new Counter({
      name: 'ingest_registry_updates_total',
      help: 'Device registry messages on config/registry: applied, unchanged, cleared (ignored), rejected (invalid, ignored)',
      labelNames: ['result'],
      registers: [registry],
    }),
    registryDevices: new Gauge({ name: 'ingest_registry_devices', help: 'Devices in the registry in force', registers: [registry] }),
    connected: new Gauge({ name: 'ingest_mqtt_connected', help: '1 while connected to the broker', registers: [registry] }),
    storePauses: new Counter({
      name: 'ingest_store_pauses_total',
      help: 'times ingest left the broker because the store kept refusing writes',
      registers: [registry],
    }),
  };
}
