import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '@tamky/service-kit';

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  subscriptions: string[];
  logger: Logger;
  /** Awaited before the message is acknowledged (QoS 1): handlers persist first, so a crash means redelivery, not loss. */
  onMessage(topic: string, payload: Buffer): Promise<void>;
}

/**
 * The dashboard's one MQTT connection: a persistent session (clean: false) so alarm events and command
 * results published while the dashboard restarts are queued by the broker and delivered afterwards.
 */
export async function connectMqtt(opts: MqttLinkOptions): Promise<{
  client: MqttClient;
  publish(topic: string, payload: unknown, o?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  close(): Promise<void>;
}> {
  const client = mqtt.connect(opts.url, {
    clientId: opts.clientId,
    clean: false,
    username: opts.username,
    password: opts.password,
    reconnectPeriod: 2000,
    // A refused CONNACK ("server unavailable" while a broker is busy) ends mqtt.js's retries unless this is set.
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    keepalive: 30,
  });

  client.handleMessage = (packet, done) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    opts.onMessage(packet.topic, payload).then(
      () => done(),
      (err) => {
        opts.logger.error({ err, topic: packet.topic }, 'mqtt message handler failed');
        done();
      },
    );
  };

  client.on('connect', (connack) => {
    opts.logger.info({ url: opts.url, sessionPresent: connack.sessionPresent }, 'mqtt connected');
    // Subscribing again is harmless with a present session and needed when the broker lost it.
    client.subscribe(
      opts.subscriptions.map((topic) => topic),
      { qos: 1 },
      (err) => {
        if (err) opts.logger.error({ err }, 'mqtt subscribe failed');
      },
    );
  });
  client.on('offline', () => opts.logger.warn('mqtt offline'));
  client.on('error', (err) => opts.logger.warn({ err: err.message }, 'mqtt error'));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mqtt: could not connect to ${opts.url} within 15 s`)), 15_000);
    client.once('connect', () => {
      clearTimeout(timer);
      // Resolve once subscriptions are in place so callers can rely on them.
      client.subscribe(opts.subscriptions, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
    });
  }).catch(async (err) => {
    await client.endAsync(true);
    throw err;
  });

  return {
    client,
    async publish(topic, payload, o = {}) {
      const body = Buffer.isBuffer(payload) || typeof payload === 'string' ? payload : JSON.stringify(payload);
      await client.publishAsync(topic, body, { qos: o.qos ?? 1, retain: o.retain ?? false });
    },
    async close() {
      await client.endAsync();
    },
  };
}
