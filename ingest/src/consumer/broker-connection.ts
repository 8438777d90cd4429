import mqtt, { type MqttClient } from 'mqtt';
import { parseGatewayTopic, topics } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { ResolvedIngestConfig } from '../config';
import type { IngestMetrics } from '../metrics';
import { installDeferredAcks, type DeferredAcks } from './deferred-acks';
import type { MessageHandler } from './gateway-messages';
import { subscriptionPlan } from './subscriptions';

export interface BrokerConnection {
  client: MqttClient;
  acks: DeferredAcks;
  /** Resolves once first connected and subscribed. */
  ready: Promise<void>;
  /** Partitioned instances subscribe per gateway: a new gateway of this partition needs its filters now. */
  subscribeNewGateways(): void;
  /** A clean DISCONNECT; if the broker does not close within 3 s, the socket is dropped (nothing unacked is lost either way). */
  end(): Promise<void>;
}

/**
 * The consumer's MQTT connection: a persistent session (clean: false, fixed client id), acks deferred until
 * durable, the subscription plan of this partition on every connect. Returned at once (messages may arrive
 * before `ready`: the handler and the acks are in place from the start).
 */
export function connectToBroker(opts: {
  cfg: Pick<ResolvedIngestConfig, 'mqtt' | 'partition' | 'backpressure' | 'registry'>;
  gateways: () => string[];
  onMessage: MessageHandler;
  closed: () => boolean;
  metrics: IngestMetrics;
  log: Logger;
}): BrokerConnection {
  const { cfg, metrics: m, log } = opts;
  const subscribedFilters = new Set<string>();
  const client = mqtt.connect(cfg.mqtt.url, {
    clientId: cfg.mqtt.clientId,
    clean: false,
    username: cfg.mqtt.username,
    password: cfg.mqtt.password,
    keepalive: cfg.mqtt.keepaliveS,
    reconnectPeriod: 1000,
    // A refused CONNACK ("server unavailable" while a broker is busy) ends mqtt.js's retries unless this is set.
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    protocolVersion: cfg.mqtt.protocolVersion,
    ...(cfg.mqtt.protocolVersion === 5
      ? {
          properties: {
            sessionExpiryInterval: cfg.mqtt.sessionExpiryS,
            // The broker's window to this client: no more unacked messages in flight than ingest holds anyway.
            receiveMaximum: Math.min(cfg.backpressure.maxUnackedMessages, 0xffff),
          },
        }
      : {}),
  });
  const acks = installDeferredAcks(client, {
    maxMessages: cfg.backpressure.maxUnackedMessages,
    maxBytes: cfg.backpressure.maxUnackedBytes,
  });
  // See deferred-acks.ts: mqtt.js sends the PUBACK from this callback; every PUBLISH passes here.
  client.handleMessage = (packet, callback) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const telemetry = parseGatewayTopic(packet.topic)?.kind === 'telemetry';
    if (!telemetry) {
      opts.onMessage(packet.topic, payload, packet, () => {});
      return callback();
    }
    acks.admit(packet, payload.length, (ack) => {
      if (!opts.closed()) opts.onMessage(packet.topic, payload, packet, ack);
      callback();
    });
  };
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'));
  client.on('offline', () => m.connected.set(0));

  let firstConnect: (() => void) | undefined;
  const ready = new Promise<void>((res) => (firstConnect = res));
  client.on('connect', (connack) => {
    m.connected.set(1);
    const plan = subscriptionPlan(opts.gateways(), cfg.partition, cfg.mqtt.sharedGroup);
    log.info(
      {
        sessionPresent: connack.sessionPresent,
        partition: cfg.partition,
        sharedGroup: cfg.mqtt.sharedGroup,
        filters: plan.subscribe.length,
      },
      'connected to broker',
    );
    const subscribe = async () => {
      if (plan.unsubscribe.length > 0 && connack.sessionPresent) await client.unsubscribeAsync(plan.unsubscribe);
      for (const f of plan.subscribe) subscribedFilters.add(f);
      const wanted = cfg.registry.follow ? [...plan.subscribe, topics.configRegistry()] : plan.subscribe;
      const granted = await client.subscribeAsync(wanted, { qos: 1 });
      const refused = granted.filter((g) => g.qos === 128);
      if (refused.length > 0) log.error({ refused: refused.map((g) => g.topic) }, 'broker refused subscriptions');
    };
    subscribe()
      .catch((err) => log.error({ err }, 'subscribe failed'))
      .finally(() => firstConnect?.());
  });

  return {
    client,
    acks,
    ready,
    subscribeNewGateways() {
      if (cfg.partition.count <= 1 || !client.connected) return;
      const fresh = subscriptionPlan(opts.gateways(), cfg.partition).subscribe.filter((f) => !subscribedFilters.has(f));
      if (fresh.length === 0) return;
      for (const f of fresh) subscribedFilters.add(f);
      client.subscribeAsync(fresh, { qos: 1 }).catch((err) => log.error({ err }, 'subscribing to new gateways failed'));
    },
    async end() {
      const ended = client.endAsync().then(() => true);
      if (!(await Promise.race([ended, new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())])))
        await client.endAsync(true);
    },
  };
}
