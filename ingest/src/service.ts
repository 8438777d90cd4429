import { resolve } from 'node:path';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { CityModel, Limits, TimeSeriesStore } from '@tamky/protocol';
import { createLogger, loadLimits, serveMetrics, type Logger } from '@tamky/service-kit';
import { afterDurable } from './after-durable';
import { ingestConfigSchema, type IngestConfig } from './config';
import { createRegistryFollower } from './config-follower/registry-follower';
import { connectToBroker, type BrokerConnection } from './consumer/broker-connection';
import { createBrokerPresence } from './consumer/broker-presence';
import { gatewayMessageHandler } from './consumer/gateway-messages';
import { BatchPipeline } from './consumer/pipeline';
import { assertTestedMqttVersion } from './consumer/mqtt-adapter';
import { SeenSeqs } from './consumer/seen-seqs';
import { Deriver } from './derive/deriver';
import { restoreDerivedState } from './derive/restore-retry';
import { createLivePublisher } from './live-feed';
import { createIngestMetrics } from './metrics';
import { createObservers, type ReadingObserver } from './observers';
import { readRetainedRegistry } from './validate/retained-registry';
import { createSelfWatch } from './self-watch';

export type { ReadingObserver } from './observers';

export interface IngestOptions {
  store: TimeSeriesStore;
  city: CityModel;
  logger?: Logger;
  observers?: ReadingObserver[];
  now?: () => number;
  /** Limits already loaded (otherwise read from config.limitsDir). */
  limits?: Limits;
}

export interface IngestHandle {
  close(): Promise<void>;
  /** MQTT publish on the ingest's connection, for observers (alarm events go to topics.alarmEvent). */
  publish(topic: string, payload: unknown, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  metrics: MetricsRegistry;
  /** True while ingest's own connection is up (it leaves the broker while the store refuses writes). */
  connected(): boolean;
  /** Port of /metrics when config.metrics is set. */
  metricsPort?: number;
}

/**
 * Ingest wired together: derived state restored, a batch pipeline acking after durable writes, the registry
 * followed, the broker connection (left while the store refuses writes), ticks and /metrics. Each part is
 * its own module; this function only connects them and shuts them down in order.
 */
export async function startIngest(config: IngestConfig, opts: IngestOptions): Promise<IngestHandle> {
  assertTestedMqttVersion();
  const cfg = ingestConfigSchema.parse(config);
  const log = opts.logger ?? createLogger('ingest');
  const now = opts.now ?? Date.now;
  const { store } = opts;
  const limits = opts.limits ?? loadLimits(resolve(cfg.limitsDir));
  const m = createIngestMetrics();
  m.registryDevices.set(opts.city.devices.length);
  const observers = createObservers(opts.observers ?? [], (err, what) => {
    m.observerErrors.inc();
    log.error({ err, what }, 'observer failed');
  });

  const deriver = new Deriver(limits, opts.city, { coalesceMs: cfg.derive.coalesceMs });
  const restoring = await restoreDerivedState(deriver, store, now, log);

  // Connected below, after the parts that act on it exist; undefined until then.
  let connection: BrokerConnection | undefined = undefined;
  let closed = false;
  const presence = createBrokerPresence({ connection: () => connection, closed: () => closed, metrics: m, log });
  const storePath = cfg.store?.type === 'sqlite' && typeof cfg.store.path === 'string' ? cfg.store.path : undefined;
  const watch = createSelfWatch({
    service: cfg.mqtt.clientId,
    diskPath: cfg.selfWatch.diskPath ?? storePath,
    oldestHeldAt: () => connection?.acks.oldestHeldAt(),
  });
  if (!cfg.selfWatch.diskPath && !storePath)
    log.info({ store: cfg.store?.type }, "the store's disk is not watched from ingest (a server store: watch it on its own host)");

  const pipeline = new BatchPipeline({
    store,
    maxReadings: cfg.batch.maxReadings,
    maxDelayMs: cfg.batch.maxDelayMs,
    idleMs: cfg.batch.idleMs,
    maxInFlight: cfg.batch.maxInFlight,
    retryBaseMs: cfg.backpressure.retryBaseMs,
    retryMaxMs: cfg.backpressure.retryMaxMs,
    log,
    derive: (raw, all) => deriver.ingest(raw, all),
    derivedDueIn: () => deriver.nextDueIn(),
    onDurable: afterDurable({
      metrics: m,
      log,
      now,
      // A durable batch: the store writes again (self-watch), and ingest returns to the broker if it had left.
      rejoinBroker: () => {
        watch.wrote();
        presence.rejoin();
      },
      publishLive: createLivePublisher(cfg.live, () => connection?.client, log),
      observers,
    }),
    onWriteFailure: (err, attempt) => {
      m.writeFailures.inc();
      watch.writeFailed(err);
      log.warn({ err, attempt }, 'store write failed; holding acks and retrying');
      if (attempt >= 1) presence.leave();
    },
  });

  const follower = createRegistryFollower({
    city: opts.city,
    metrics: m,
    log,
    onChange(city) {
      deriver.setCity(city);
      observers.callSync('onRegistry', (o) => o.onRegistry?.(city));
      connection?.subscribeNewGateways();
    },
  });
  if (cfg.registry.follow && cfg.registry.startWaitMs > 0) {
    const retained = await readRetainedRegistry({
      url: cfg.mqtt.url,
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      clientId: `${cfg.mqtt.clientId}-registry`,
      waitMs: cfg.registry.startWaitMs,
    });
    if (retained) follower.apply(retained);
    else log.info({ waitedMs: cfg.registry.startWaitMs }, 'no retained device registry; starting with the city file');
  }

  const onMessage = gatewayMessageHandler({
    partition: cfg.partition,
    metrics: m,
    log,
    now,
    registry: follower.registry,
    seen: new SeenSeqs(),
    pipeline,
    applyRegistry: follower.apply,
    observers,
  });
  const broker = connectToBroker({ cfg, gateways: () => follower.registry().gateways(), onMessage, closed: () => closed, metrics: m, log });
  connection = broker;
  await broker.ready;

  const tickTimer = setInterval(() => {
    const held = broker.acks.held();
    m.unackedMessages.set(held.messages);
    m.unackedBytes.set(held.bytes);
    if (observers.has('tick')) void observers.call('tick', (o) => o.tick?.(now()));
  }, 1000);

  const watchTimer = setInterval(() => {
    if (!observers.has('onSystemHealth')) return;
    const report = watch.report(now());
    observers.callSync('onSystemHealth', (o) => o.onSystemHealth?.(report, report.ts));
  }, cfg.selfWatch.intervalMs);

  const metricsServer = cfg.metrics ? await serveMetrics([m.registry], cfg.metrics.port, cfg.metrics.host) : undefined;

  log.info({ url: cfg.mqtt.url, clientId: cfg.mqtt.clientId, partition: cfg.partition }, 'ingest started');

  return {
    metrics: m.registry,
    metricsPort: metricsServer?.port,
    connected: () => broker.client.connected,
    async publish(topic, payload, o = {}) {
      await broker.client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), {
        qos: o.qos ?? 1,
        retain: o.retain ?? false,
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(tickTimer);
      clearInterval(watchTimer);
      restoring.stop();
      await pipeline.close();
      broker.acks.close();
      await broker.end();
      await metricsServer?.close();
      log.info('ingest stopped');
    },
  };
}
