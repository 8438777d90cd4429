import mqtt from 'mqtt';
import { topics } from '@tamky/protocol';

/**
 * The retained config/registry payload, read once with a short-lived clean session before ingest's own
 * persistent session connects. That session gets the telemetry the broker queued while ingest was down
 * right after CONNACK, before any new SUBSCRIBE is answered with the retained registry: without this, a
 * device added while ingest was down would have its queued readings dead-lettered as unknown.
 * Resolves undefined when nothing retained arrives within `waitMs` (or the broker cannot be reached).
 */
export async function readRetainedRegistry(opts: {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  waitMs: number;
}): Promise<Buffer | undefined> {
  const client = mqtt.connect(opts.url, {
    clientId: opts.clientId,
    clean: true,
    username: opts.username,
    password: opts.password,
    reconnectPeriod: 0,
    connectTimeout: opts.waitMs,
  });
  client.on('error', () => {});
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), opts.waitMs);
      client.on('message', (topic, payload, packet) => {
        if (topic !== topics.configRegistry() || !packet.retain) return;
        clearTimeout(timer);
        resolve(payload);
      });
      client.on('connect', () => {
        client.subscribeAsync(topics.configRegistry(), { qos: 1 }).catch(() => {});
      });
    });
  } finally {
    await client.endAsync(true).catch(() => {});
  }
}
