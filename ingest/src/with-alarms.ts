import { resolve } from 'node:path';
import type { AlarmEvent, SystemHealth } from '@tamky/protocol';
import { loadLimits } from '@tamky/service-kit';
import { startAlarmDetection } from './alarms/start';
import { ingestConfigSchema, type IngestConfig } from './config';
import { startIngest, type IngestHandle, type IngestOptions } from './service';

export interface IngestWithAlarms extends IngestHandle {
  /** Version of the rule set in force (0 until the first retained set arrives), when alarms are on. */
  rulesVersion?(): number;
}

/**
 * Ingest with alarm detection on its partition, as the CLI and the demo run it: limits are loaded once and
 * shared (derived values and alarm texts read the same VN_AQI levels); the detector publishes on ingest's own
 * connection. `config.alarms.enabled: false` starts ingest alone.
 */
export async function startIngestWithAlarms(config: IngestConfig, opts: IngestOptions): Promise<IngestWithAlarms> {
  const cfg = ingestConfigSchema.parse(config);
  const limits = opts.limits ?? loadLimits(resolve(cfg.limitsDir));
  if (!cfg.alarms.enabled) return startIngest(cfg, { ...opts, limits });
  // The detector publishes on ingest's connection, which exists only once ingest has started.
  let ingest: IngestHandle | undefined;
  let publishAside: (topic: string, event: AlarmEvent) => Promise<void> = () => Promise.reject(new Error('alarms not started yet'));
  const alarms = await startAlarmDetection({
    mqtt: { ...cfg.mqtt, clientId: `${cfg.mqtt.clientId}-rules` },
    city: opts.city,
    aqiLevels: limits.vnAqi.levels,
    publish: async (topic, event) => {
      if (!ingest) throw new Error('ingest not started yet');
      // While the store refuses writes ingest is away from the broker: the alarm saying so goes out beside it.
      if (ingest.connected()) await ingest.publish(topic, event, { qos: 1 });
      else await publishAside(topic, event);
    },
    rulesFile: cfg.alarms.rulesFile,
    logger: opts.logger?.child({ part: 'alarms' }),
  });
  publishAside = alarms.publishAside;
  try {
    // Its own health report also goes out, for the dashboard to notice when it stops (alarms/service-watch.ts there).
    const announcer = { onReadings: () => undefined, onSystemHealth: (h: SystemHealth) => alarms.announce(h) };
    ingest = await startIngest(cfg, { ...opts, limits, observers: [...(opts.observers ?? []), alarms.detector, announcer] });
  } catch (err) {
    await alarms.close();
    throw err;
  }
  const started = ingest;
  return {
    ...started,
    rulesVersion: alarms.rulesVersion,
    async close() {
      await started.close();
      await alarms.close();
    },
  };
}
