import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { topics, type GatewayStatus } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { backoffDelay } from '@tamky/service-kit';
import type { GatewayConfig } from '../config';

export interface UplinkHandlers {
  onConnect(): void;
  onDisconnect(): void;
  onCommand(payload: Buffer): void;
  /** Signed configuration pushed from the centre (retained); subscribed to only when given. */
  onConfig?(payload: Buffer): void;
  /** Signed release announcement (retained); subscribed to only when given. */
  onRelease?(payload: Buffer): void;
}

/**
 * The gateway's one MQTT connection. mqtt.js's own reconnect retries every period forever and queues
 * publishes in memory while offline, so it is switched off (reconnectPeriod 0): each attempt is a fresh
 * client, spaced by exponential backoff with full jitter so a city's gateways do not return in step
 * after a broker outage, and publishing is refused while disconnected (the outbox keeps the data).
 */
export class MqttUplink {
  private client: MqttClient | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private connectedFlag = false;
  reconnects = 0;
  private readonly ca: Buffer | undefined;
  private readonly cert: Buffer | undefined;
  private readonly key: Buffer | undefined;

  constructor(
    private readonly config: Pick<GatewayConfig, 'gatewayId' | 'mqtt'>,
    private readonly handlers: UplinkHandlers,
    private readonly log: Logger,
    private readonly version: string,
    private readonly now: () => number,
  ) {
    // Read once at start: a missing CA, certificate or key file is a startup error, not a crash at the first
    // reconnect. A renewed certificate takes effect at the next start.
    this.ca = config.mqtt.caFile ? readFileSync(config.mqtt.caFile) : undefined;
    this.cert = config.mqtt.certFile ? readFileSync(config.mqtt.certFile) : undefined;
    this.key = config.mqtt.keyFile ? readFileSync(config.mqtt.keyFile) : undefined;
  }

  get connected(): boolean {
    return this.connectedFlag;
  }

  start(): void {
    this.connect();
  }

  private status(state: 'online' | 'offline', reason?: string): string {
    const s: GatewayStatus = {
      gateway: this.config.gatewayId,
      state,
      ts: this.now(),
      version: this.version,
      ...(reason ? { reason } : {}),
    };
    return JSON.stringify(s);
  }

  private connect(): void {
    if (this.closing) return;
    const { mqtt: m, gatewayId } = this.config;
    const client = mqtt.connect(m.url, {
      // The broker binds a gateway's client id to its identity: the gateway id itself (or id:suffix).
      clientId: m.clientId ?? gatewayId,
      username: m.username,
      password: m.password,
      keepalive: m.keepaliveS,
      connectTimeout: m.connectTimeoutMs,
      reconnectPeriod: 0,
      clean: true,
      ...(this.ca ? { ca: this.ca } : {}),
      ...(this.cert && this.key ? { cert: this.cert, key: this.key } : {}),
      will: { topic: topics.status(gatewayId), payload: Buffer.from(this.status('offline', 'lwt')), qos: 1, retain: true },
    });
    this.client = client;
    let gone = false;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.attempt = 0;
      this.connectedFlag = true;
      this.log.info({ url: m.url }, 'connected to broker');
      client.publish(topics.status(gatewayId), this.status('online'), { qos: 1, retain: true });
      const subscriptions = [
        topics.command(gatewayId),
        ...(this.handlers.onConfig ? [topics.gatewayConfig(gatewayId)] : []),
        ...(this.handlers.onRelease ? [topics.gatewayRelease(gatewayId)] : []),
      ];
      client.subscribe(subscriptions, { qos: 1 }, (err, granted) => {
        if (err) this.log.error({ err: err.message }, 'cannot subscribe to commands');
        for (const g of granted ?? []) if (g.qos === 128) this.log.error({ topic: g.topic }, 'the broker refused a subscription');
      });
      this.handlers.onConnect();
    });
    client.on('message', (topic, payload) => {
      if (topic === topics.command(gatewayId)) this.handlers.onCommand(payload);
      else if (topic === topics.gatewayConfig(gatewayId)) this.handlers.onConfig?.(payload);
      else if (topic === topics.gatewayRelease(gatewayId)) this.handlers.onRelease?.(payload);
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
    client.on('close', () => {
      if (gone || this.client !== client) return;
      gone = true;
      const was = this.connectedFlag;
      this.connectedFlag = false;
      if (this.closing) return;
      // Fails the callbacks of unacknowledged publishes; the outbox resends those rows.
      client.end(true);
      if (was) this.handlers.onDisconnect();
      const delay = backoffDelay(this.attempt++, m.reconnect.baseMs, m.reconnect.maxMs);
      this.reconnects++;
      this.log.warn({ retryInMs: delay, attempt: this.attempt }, was ? 'lost broker connection' : 'cannot reach broker');
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.connect();
      }, delay);
    });
  }

  /** QoS 1 publish; resolves on PUBACK, rejects if not connected or the connection drops first. */
  publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    const client = this.client;
    if (!client || !this.connectedFlag) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Clean shutdown: retained offline status with reason 'shutdown' (no last will), then disconnect. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    if (!client) return;
    if (this.connectedFlag) {
      await Promise.race([
        this.publish(topics.status(this.config.gatewayId), this.status('offline', 'shutdown'), { retain: true }).catch(() => undefined),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    }
    this.connectedFlag = false;
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.client = undefined;
  }
}
