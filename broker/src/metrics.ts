import { Counter, Gauge, type Registry } from 'prom-client';

export type RefusalReason =
  | 'bad-credentials'
  | 'unknown-gateway'
  | 'unknown-user'
  | 'disabled'
  | 'anonymous-not-allowed'
  | 'client-id-mismatch'
  | 'tls-cert-mismatch'
  | 'max-connections'
  | 'connect-rate'
  | 'auth-busy'
  | 'publish-not-allowed'
  | 'retain-not-allowed'
  | 'reserved-topic'
  | 'subscribe-not-allowed'
  | 'publish-rate'
  | 'packet-too-large'
  | 'malformed-packet'
  | 'slow-subscriber'
  | 'offline-queue-full'
  | 'will-not-allowed'
  | 'will-unattributed'
  | 'pre-connect-sockets'
  | 'connect-timeout'
  | 'secret-expired';

export interface BrokerMetrics {
  refusals: Counter<'reason'>;
  messagesIn: Counter<'qos'>;
  messagesOut: Counter;
  bytesIn: Counter;
  bytesOut: Counter;
  disconnects: Counter<'reason'>;
  throttled: Counter;
}

/**
 * Broker metrics on the service's registry. Gauges that describe live state (clients, queue depths) are read
 * at scrape time from `probe`, so the hot path only bumps counters.
 */
export function createBrokerMetrics(
  registry: Registry,
  probe: {
    mqQueued(): number;
    bytesIn(): number;
    bytesOut(): number;
    connectedClients(): Record<'gateway' | 'service' | 'anonymous', number>;
    subscriberBufferedBytes(): number;
    offlineQueued(): number;
    stalledSubscribers(): number;
  },
): BrokerMetrics {
  new Gauge({
    name: 'broker_clients_connected',
    help: 'MQTT clients currently connected, by kind (gateway, service, anonymous)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const [kind, n] of Object.entries(probe.connectedClients())) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'broker_subscriber_buffered_bytes',
    help: 'Bytes written to subscribers but not yet accepted by their sockets (sum over clients)',
    registers: [registry],
    collect() {
      this.set(probe.subscriberBufferedBytes());
    },
  });
  new Gauge({
    name: 'broker_subscribers_stalled',
    help: 'Subscribers whose socket buffer is full (waiting for drain)',
    registers: [registry],
    collect() {
      this.set(probe.stalledSubscribers());
    },
  });
  new Gauge({
    name: 'broker_routing_queue_length',
    help: 'Messages waiting for a routing slot (mqemitter concurrency exhausted)',
    registers: [registry],
    collect() {
      this.set(probe.mqQueued());
    },
  });
  new Gauge({
    name: 'broker_offline_messages_queued',
    help: "QoS>0 messages queued for offline persistent sessions (this node's view)",
    registers: [registry],
    collect() {
      this.set(probe.offlineQueued());
    },
  });
  return {
    refusals: new Counter({
      name: 'broker_refusals_total',
      help: 'Connections, publishes and subscriptions refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    messagesIn: new Counter({
      name: 'broker_messages_in_total',
      help: 'PUBLISH packets accepted from clients',
      labelNames: ['qos'],
      registers: [registry],
    }),
    messagesOut: new Counter({
      name: 'broker_messages_out_total',
      help: 'PUBLISH packets delivered to subscribers',
      registers: [registry],
    }),
    bytesIn: new Counter({
      name: 'broker_bytes_in_total',
      help: 'Bytes read from client sockets',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(probe.bytesIn());
      },
    }),
    bytesOut: new Counter({
      name: 'broker_bytes_out_total',
      help: 'Bytes written to client sockets',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(probe.bytesOut());
      },
    }),
    throttled: new Counter({
      name: 'broker_publishes_throttled_total',
      help: 'PUBLISH packets held back because their sender exceeded its rate',
      registers: [registry],
    }),
    disconnects: new Counter({
      name: 'broker_disconnects_total',
      help: 'Connections closed by the broker, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
