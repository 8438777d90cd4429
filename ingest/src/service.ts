import { resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Registry as MetricsRegistry } from 'prom-client';
import {
  gatewayHealthSchema,
  gatewayStatusSchema,
  parseGatewayTopic,
  partitionOf,
  topics,
  type CityModel,
  type GatewayHealth,
  type GatewayStatus,
  type StoredReading,
  type TimeSeriesStore,
} from '@tamky/protocol';
import { createLogger, serveMetrics, type Logger } from '@tamky/service-kit';
import { ingestConfigSchema, type IngestConfig } from './config';
import { installDeferredAcks, type DeferredAcks } from './consumer/deferred-acks';
import { BatchPipeline, type DurableBatch } from './consumer/pipeline';
import { SeenSeqs } from './consumer/seen-seqs';
import { subscriptionPlan } from './consumer/subscriptions';
import { Deriver } from './derive/deriver';
import { loadLimits, type Limits } from './derive/limits';
import { createIngestMetrics } from './metrics';
import { buildRegistry } from './validate/registry';
import { validateTelemetry } from './validate/validate-batch';
import { liveMessages } from './live-feed';

/** Implemented by alarm detection (ingest/src/alarms), injected by the composer. */
export interface ReadingObserver {
  /** Called after the readings (raw and derived) are durable. */
  onReadings(readings: StoredReading[], now: number): void | Promise<void>;
  onGatewayHealth?(health: GatewayHealth, now: number): void;
  onGatewayStatus?(status: GatewayStatus, now: number): void;
  /** Called every second. */
  tick?(now: number): void | Promise<void>;
}

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
  /** Port of /metrics when config.metrics is set. */
  metricsPort?: number;
}

export async function startIngest(config: IngestConfig, opts: IngestOptions): Promise<IngestHandle> {
  const cfg = ingestConfigSchema.parse(config);
  const log = opts.logger ?? createLogger('ingest');
  const now = opts.now ?? Date.now;
  const observers = opts.observers ?? [];
  const { store, city } = opts;
  const registry = buildRegistry(city);
  const limits = opts.limits ?? loadLimits(resolve(cfg.limitsDir));
  const m = createIngestMetrics();
  const seen = new SeenSeqs();

  const deriver = new Deriver(limits, city);
  const restored = await deriver.restore(store, now());
  log.info({ restored }, 'derived state rebuilt from the store');

  const callObservers = async (what: string, call: (o: ReadingObserver) => void | Promise<void>) => {
    for (const o of observers) {
      try {
        await call(o);
      } catch (err) {
        m.observerErrors.inc();
        log.error({ err, what }, 'observer failed');
      }
    }
  };

  let client: MqttClient | undefined;
  let closed = false;
  let acks: DeferredAcks | undefined;

  const publishLive = (topic: string, readings: StoredReading[]) => {
    if (!cfg.live.enabled || readings.length === 0 || !client?.connected) return;
    for (const payload of liveMessages(readings, cfg.live.chunk, cfg.live.maxBytes)) {
      client.publish(topic, payload, { qos: 0 }, (err) => {
        if (err) log.debug({ err }, 'live publish failed');
      });
    }
  };

  const onDurable = async ({ raw, derived, messages, writeMs }: DurableBatch) => {
    for (const msg of messages) msg.ack();
    if (log.isLevelEnabled('debug')) log.debug({ messages: messages.length, readings: raw.length, first: raw[0] && `${raw[0].gateway}#${raw[0].seq}`, writeMs }, 'batch durable, acked');
    const t = now();
    m.points.inc(raw.length);
    let values = 0;
    let newest = -Infinity;
    for (const r of raw) {
      for (const _ in r.values) values++;
      if (r.ts > newest) newest = r.ts;
    }
    m.values.inc(values);
    for (const d of derived) m.derived.inc({ kind: d.kind });
    m.batchReadings.observe(raw.length);
    m.writeSeconds.observe(writeMs / 1000);
    for (const msg of messages) {
      let msgNewest = -Infinity;
      for (const r of msg.readings) if (r.ts > msgNewest) msgNewest = r.ts;
      if (msgNewest > 0) m.lagSeconds.observe(Math.max(0, (t - msgNewest) / 1000));
    }
    if (newest > 0) m.lastLag.set(Math.max(0, (t - newest) / 1000));
    for (const msg of messages) for (const l of msg.deadLetters) m.deadLetters.inc({ reason: l.reason.split(':')[0] ?? 'unknown' });
    publishLive(topics.liveReadings(), raw);
    publishLive(topics.liveDerived(), derived);
    if (observers.length > 0 && raw.length + derived.length > 0) {
      const all = derived.length > 0 ? raw.concat(derived) : raw;
      await callObservers('onReadings', (o) => o.onReadings(all, t));
    }
  };

  const pipeline = new BatchPipeline({
    store,
    maxReadings: cfg.batch.maxReadings,
    maxDelayMs: cfg.batch.maxDelayMs,
    retryBaseMs: cfg.backpressure.retryBaseMs,
    retryMaxMs: cfg.backpressure.retryMaxMs,
    log,
    derive: (raw) => deriver.ingest(raw),
    onDurable,
    onWriteFailure: (err, attempt) => {
      m.writeFailures.inc();
      log.warn({ err, attempt }, 'store write failed; holding acks and retrying');
    },
  });

  const handleMessage = (topic: string, payload: Buffer, packet: { dup?: boolean }, ack: () => void) => {
    const parsed = parseGatewayTopic(topic);
    try {
      if (parsed?.kind === 'telemetry') {
        m.messages.inc({ type: 'telemetry' });
        if (packet.dup) m.redeliveries.inc({ signal: 'mqtt_dup' });
        if (cfg.partition.count > 1 && partitionOf(parsed.gatewayId, cfg.partition.count) !== cfg.partition.index) {
          // Left over from an older subscription set. Storing is idempotent, so store rather than drop.
          log.warn({ gateway: parsed.gatewayId }, 'telemetry of another partition received; storing it anyway');
        }
        const v = validateTelemetry(topic, payload, registry, now());
        let repeated = 0;
        for (const r of v.readings) if (seen.check(r.gateway, r.seq)) repeated++;
        if (repeated > 0) m.redeliveries.inc({ signal: 'seen_seq' }, repeated);
        for (const rej of v.rejections) log.debug({ reason: rej.letter.reason, gateway: rej.letter.gateway, device: rej.letter.device }, 'dead letter');
        pipeline.push({ readings: v.readings, deadLetters: v.rejections.map((r) => r.letter), ack, receivedAt: Date.now() });
        return;
      }
      ack();
      if (parsed?.kind === 'health') {
        m.messages.inc({ type: 'health' });
        const h = gatewayHealthSchema.safeParse(JSON.parse(payload.toString('utf8')));
        if (!h.success || h.data.gateway !== parsed.gatewayId) throw new Error(h.success ? 'gateway mismatch' : h.error.message);
        void callObservers('onGatewayHealth', (o) => o.onGatewayHealth?.(h.data, now()));
      } else if (parsed?.kind === 'status') {
        m.messages.inc({ type: 'status' });
        if (payload.length === 0) return; // retained status cleared
        const s = gatewayStatusSchema.safeParse(JSON.parse(payload.toString('utf8')));
        if (!s.success || s.data.gateway !== parsed.gatewayId) throw new Error(s.success ? 'gateway mismatch' : s.error.message);
        void callObservers('onGatewayStatus', (o) => o.onGatewayStatus?.(s.data, now()));
      }
    } catch (err) {
      m.deadLetters.inc({ reason: `invalid_${parsed?.kind ?? 'topic'}` });
      log.warn({ topic, err: (err as Error).message }, 'invalid gateway message ignored');
    }
  };

  client = mqtt.connect(cfg.mqtt.url, {
    clientId: cfg.mqtt.clientId,
    clean: false,
    username: cfg.mqtt.username,
    password: cfg.mqtt.password,
    keepalive: cfg.mqtt.keepaliveS,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    protocolVersion: 4,
  });
  acks = installDeferredAcks(client, { maxMessages: cfg.backpressure.maxUnackedMessages, maxBytes: cfg.backpressure.maxUnackedBytes });
  // See deferred-acks.ts: mqtt.js sends the PUBACK from this callback; every PUBLISH passes here.
  client.handleMessage = (packet, callback) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const telemetry = parseGatewayTopic(packet.topic)?.kind === 'telemetry';
    if (!telemetry) {
      handleMessage(packet.topic, payload, packet, () => {});
      return callback();
    }
    acks!.admit(packet, payload.length, (ack) => {
      if (!closed) handleMessage(packet.topic, payload, packet, ack);
      callback();
    });
  };
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'));
  client.on('offline', () => m.connected.set(0));

  const plan = subscriptionPlan(registry.gateways(), cfg.partition);
  let firstConnect: (() => void) | undefined;
  const connected = new Promise<void>((res) => (firstConnect = res));
  client.on('connect', (connack) => {
    m.connected.set(1);
    log.info({ sessionPresent: connack.sessionPresent, partition: cfg.partition, filters: plan.subscribe.length }, 'connected to broker');
    const c = client!;
    const subscribe = async () => {
      if (plan.unsubscribe.length > 0 && connack.sessionPresent) await c.unsubscribeAsync(plan.unsubscribe);
      const granted = await c.subscribeAsync(plan.subscribe, { qos: 1 });
      const refused = granted.filter((g) => g.qos === 128);
      if (refused.length > 0) log.error({ refused: refused.map((g) => g.topic) }, 'broker refused subscriptions');
    };
    subscribe()
      .catch((err) => log.error({ err }, 'subscribe failed'))
      .finally(() => firstConnect?.());
  });
  await connected;

  const tickTimer = setInterval(() => {
    const held = acks!.held();
    m.unackedMessages.set(held.messages);
    m.unackedBytes.set(held.bytes);
    if (observers.some((o) => o.tick)) void callObservers('tick', (o) => o.tick?.(now()));
  }, 1000);

  const metricsServer = cfg.metrics ? await serveMetrics([m.registry], cfg.metrics.port, cfg.metrics.host) : undefined;

  log.info({ url: cfg.mqtt.url, clientId: cfg.mqtt.clientId, partition: cfg.partition }, 'ingest started');

  return {
    metrics: m.registry,
    metricsPort: metricsServer?.port,
    async publish(topic, payload, o = {}) {
      await client!.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: o.qos ?? 1, retain: o.retain ?? false });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(tickTimer);
      await pipeline.close();
      acks!.close();
      // A clean DISCONNECT first; if the broker does not close within 3 s, drop the socket (nothing unacked is lost either way).
      const ended = client!.endAsync().then(() => true);
      if (!(await Promise.race([ended, new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())]))) await client!.endAsync(true);
      await metricsServer?.close();
      log.info('ingest stopped');
    },
  };
}
