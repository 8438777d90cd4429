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
import { backoffDelay, createLogger, loadLimits, serveMetrics, type Logger } from '@tamky/service-kit';
import { ingestConfigSchema, type IngestConfig } from './config';
import { installDeferredAcks, type DeferredAcks } from './consumer/deferred-acks';
import { BatchPipeline, type DurableBatch } from './consumer/pipeline';
import { SeenSeqs } from './consumer/seen-seqs';
import { subscriptionPlan } from './consumer/subscriptions';
import { Deriver } from './derive/deriver';
import type { Limits } from '@tamky/protocol';
import { createIngestMetrics } from './metrics';
import { buildRegistry } from './validate/registry';
import { parseRegistryMessage } from './validate/registry-message';
import { readRetainedRegistry } from './validate/retained-registry';
import { validateTelemetry } from './validate/validate-batch';
import { liveMessages, newestPerDevice } from './live-feed';

/** Implemented by alarm detection (ingest/src/alarms), injected by the composer. */
export interface ReadingObserver {
  /** Called after the readings (raw and derived) are durable. */
  onReadings(readings: StoredReading[], now: number): void | Promise<void>;
  onGatewayHealth?(health: GatewayHealth, now: number): void;
  onGatewayStatus?(status: GatewayStatus, now: number): void;
  /** Called every second. */
  tick?(now: number): void | Promise<void>;
  /** Called when a new device registry (city model) arrived on config/registry and is in force. */
  onRegistry?(city: CityModel): void;
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
  const { store } = opts;
  // Replaced as a whole when the dashboard publishes a new registry: a message is validated against one registry.
  let city = opts.city;
  let registry = buildRegistry(city);
  const limits = opts.limits ?? loadLimits(resolve(cfg.limitsDir));
  const m = createIngestMetrics();
  m.registryDevices.set(city.devices.length);
  const seen = new SeenSeqs();

  const deriver = new Deriver(limits, city);
  const onRestoreError = (err: unknown, what: { kind: string; devices: number; attempt: number }) => log.warn({ err, ...what }, 'reading history for derived values failed');
  const first = await deriver.restore(store, now(), { onError: onRestoreError, deadline: Date.now() + 30_000 });
  log.info({ restored: first.restored, unrestored: first.unrestored.length }, 'derived state rebuilt from the store');
  // Devices whose history the store would not give yet: retried in the background while readings flow.
  let unrestored = first.unrestored;
  let restoreTimer: NodeJS.Timeout | undefined;
  const retryRestore = (attempt: number) => {
    restoreTimer = setTimeout(() => {
      deriver
        .restore(store, now(), { devices: unrestored, attempts: 1, onError: onRestoreError })
        .then((r) => {
          unrestored = r.unrestored;
          log.info({ restored: r.restored, unrestored: unrestored.length }, 'derived state: history restored late');
          if (unrestored.length > 0 && !closed) retryRestore(attempt + 1);
        }, (err: unknown) => log.error({ err }, 'derived state retry failed'));
    }, backoffDelay(attempt, 5_000, 60_000));
  };
  if (unrestored.length > 0) {
    log.error({ devices: unrestored.length }, 'derived values start without their history for some devices; retrying in the background');
    retryRestore(0);
  }

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
    const live = cfg.live.mode === 'latest' ? newestPerDevice(readings) : readings;
    for (const payload of liveMessages(live, cfg.live.chunk, cfg.live.maxBytes)) {
      client.publish(topic, payload, { qos: 0 }, (err) => {
        if (err) log.debug({ err }, 'live publish failed');
      });
    }
  };

  // While the store keeps refusing writes ingest leaves the broker rather than stop reading its socket: a
  // subscriber that does not drain is disconnected by the broker's drain timeout again and again (515 times
  // in a 5-minute city run), and each reconnect resends its queue from the head. Away, its persistent
  // session simply queues in the broker, and the first durable write brings it back.
  let awayFromBroker = false;
  const leaveBroker = () => {
    if (awayFromBroker || closed || !client?.connected) return;
    awayFromBroker = true;
    m.storePauses.inc();
    m.connected.set(0);
    log.warn('the store keeps refusing writes: leaving the broker until a write succeeds (the session queues meanwhile)');
    acks!.leaving();
    client.end(false);
  };
  const returnToBroker = () => {
    if (!awayFromBroker || closed) return;
    awayFromBroker = false;
    log.info('the store writes again: back to the broker');
    client!.reconnect();
  };

  // Derived readings per kind, one counter increment per kind a batch touched (a label lookup per reading was not free).
  const derivedByKind = new Map<string, number>();
  const countDerived = (derived: StoredReading[]) => {
    if (derived.length === 0) return;
    for (const d of derived) derivedByKind.set(d.kind, (derivedByKind.get(d.kind) ?? 0) + 1);
    for (const [kind, n] of derivedByKind) m.derived.inc({ kind }, n);
    derivedByKind.clear();
  };

  const onDurable = async ({ raw, derived, messages, writeMs }: DurableBatch) => {
    returnToBroker();
    for (const msg of messages) msg.ack();
    if (log.isLevelEnabled('debug')) log.debug({ messages: messages.length, readings: raw.length, first: raw[0] && `${raw[0].gateway}#${raw[0].seq}`, writeMs }, 'batch durable, acked');
    const t = now();
    m.points.inc(raw.length);
    // Per message, from what validation counted: no pass over the readings here.
    let values = 0;
    let newest = -Infinity;
    for (const msg of messages) {
      values += msg.values;
      if (msg.newestTs > newest) newest = msg.newestTs;
      if (msg.newestTs > 0) m.lagSeconds.observe(Math.max(0, (t - msg.newestTs) / 1000));
      for (const l of msg.deadLetters) m.deadLetters.inc({ reason: l.reason.split(':')[0] ?? 'unknown' });
    }
    m.values.inc(values);
    countDerived(derived);
    m.batchReadings.observe(raw.length);
    m.writeSeconds.observe(writeMs / 1000);
    if (newest > 0) m.lastLag.set(Math.max(0, (t - newest) / 1000));
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
    idleMs: cfg.batch.idleMs,
    maxInFlight: cfg.batch.maxInFlight,
    retryBaseMs: cfg.backpressure.retryBaseMs,
    retryMaxMs: cfg.backpressure.retryMaxMs,
    log,
    derive: (raw) => deriver.ingest(raw),
    onDurable,
    onWriteFailure: (err, attempt) => {
      m.writeFailures.inc();
      log.warn({ err, attempt }, 'store write failed; holding acks and retrying');
      if (attempt >= 1) leaveBroker();
    },
  });

  let registryText: string | undefined;
  const subscribedFilters = new Set<string>();
  const applyRegistry = (payload: Buffer) => {
    const text = payload.toString('utf8');
    // The same payload again (the retained copy on every (re)subscribe, or read at start): nothing to do.
    if (text === registryText) {
      m.registryUpdates.inc({ result: 'unchanged' });
      return;
    }
    registryText = text;
    const msg = parseRegistryMessage(text);
    if (msg.kind === 'cleared') {
      m.registryUpdates.inc({ result: 'cleared' });
      log.info('retained device registry cleared; keeping the registry in force');
      return;
    }
    if (msg.kind === 'invalid') {
      m.registryUpdates.inc({ result: 'rejected' });
      log.error({ topic: topics.configRegistry(), problem: msg.problem }, 'device registry rejected; keeping the registry in force');
      return;
    }
    const before = registry;
    city = msg.city;
    registry = buildRegistry(city);
    deriver.setCity(city);
    m.registryUpdates.inc({ result: 'applied' });
    m.registryDevices.set(city.devices.length);
    const added = registry.devices().filter((d) => !before.device(d.id)).map((d) => d.id);
    const removed = before.devices().filter((d) => !registry.device(d.id)).map((d) => d.id);
    log.info({ devices: city.devices.length, gateways: city.gateways.length, added: added.slice(0, 20), removed: removed.slice(0, 20) }, 'device registry updated');
    for (const o of observers) {
      try {
        o.onRegistry?.(city);
      } catch (err) {
        m.observerErrors.inc();
        log.error({ err, what: 'onRegistry' }, 'observer failed');
      }
    }
    // Partitioned instances subscribe per gateway: a new gateway of this partition needs its filters now.
    if (cfg.partition.count > 1 && client?.connected) {
      const fresh = subscriptionPlan(registry.gateways(), cfg.partition).subscribe.filter((f) => !subscribedFilters.has(f));
      if (fresh.length > 0) {
        for (const f of fresh) subscribedFilters.add(f);
        client.subscribeAsync(fresh, { qos: 1 }).catch((err) => log.error({ err }, 'subscribing to new gateways failed'));
      }
    }
  };

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
        pipeline.push({ readings: v.readings, deadLetters: v.rejections.map((r) => r.letter), ack, receivedAt: Date.now(), values: v.values, newestTs: v.newestTs });
        return;
      }
      ack();
      if (topic === topics.configRegistry()) {
        applyRegistry(payload);
        return;
      }
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

  if (cfg.registry.follow && cfg.registry.startWaitMs > 0) {
    const retained = await readRetainedRegistry({
      url: cfg.mqtt.url,
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      clientId: `${cfg.mqtt.clientId}-registry`,
      waitMs: cfg.registry.startWaitMs,
    });
    if (retained) applyRegistry(retained);
    else log.info({ waitedMs: cfg.registry.startWaitMs }, 'no retained device registry; starting with the city file');
  }

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

  let firstConnect: (() => void) | undefined;
  const connected = new Promise<void>((res) => (firstConnect = res));
  client.on('connect', (connack) => {
    m.connected.set(1);
    const plan = subscriptionPlan(registry.gateways(), cfg.partition);
    log.info({ sessionPresent: connack.sessionPresent, partition: cfg.partition, filters: plan.subscribe.length }, 'connected to broker');
    const c = client!;
    const subscribe = async () => {
      if (plan.unsubscribe.length > 0 && connack.sessionPresent) await c.unsubscribeAsync(plan.unsubscribe);
      for (const f of plan.subscribe) subscribedFilters.add(f);
      const wanted = cfg.registry.follow ? [...plan.subscribe, topics.configRegistry()] : plan.subscribe;
      const granted = await c.subscribeAsync(wanted, { qos: 1 });
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
      clearTimeout(restoreTimer);
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
