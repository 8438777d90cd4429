import mqtt, { type MqttClient } from 'mqtt';
import { PROTOCOL_VERSION, topics } from '@tamky/protocol';

/**
 * A device gone mad behind a real gateway's credentials: telemetry that is not JSON, JSON of the wrong
 * shape, readings of unknown devices, values out of range or in the wrong unit, at a high rate. Readings
 * that are well-formed carry seq ≥ 10^12 so they can never be mistaken for the gateway's real readings.
 */
export interface GarbageFlood {
  sent(): number;
  stop(): Promise<void>;
}

export async function startGarbageFlood(opts: {
  url: string;
  gatewayId: string;
  secret: string;
  perSecond: number;
  realDevice: string;
}): Promise<GarbageFlood> {
  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: `${opts.gatewayId}:flood`,
    username: opts.gatewayId,
    password: opts.secret,
    reconnectPeriod: 500,
    protocolVersion: 4,
  });
  client.on('error', () => undefined);
  let n = 0;
  let seq = 1_000_000_000_000;
  const topic = topics.telemetry(opts.gatewayId);
  const payload = (i: number): string => {
    const ts = Date.now();
    switch (i % 6) {
      case 0:
        return `{"v":1,"gateway":"${opts.gatewayId}","readings":[{"device":`; // truncated JSON
      case 1:
        return JSON.stringify({ hello: 'world', i });
      case 2:
        return JSON.stringify({
          v: PROTOCOL_VERSION,
          gateway: opts.gatewayId,
          readings: [{ device: 'no-such-device', ts, seq: seq++, values: { level: { v: 1, u: 'm' } } }],
        });
      case 3:
        return JSON.stringify({
          v: PROTOCOL_VERSION,
          gateway: opts.gatewayId,
          readings: [{ device: opts.realDevice, ts, seq: seq++, values: { bogus_field: { v: 1, u: 'm' } } }],
        });
      case 4:
        return JSON.stringify({ v: 99, gateway: opts.gatewayId, readings: [{}] });
      default:
        return Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256))).toString('latin1');
    }
  };
  const timer = setInterval(() => {
    if (!client.connected) return;
    const burst = Math.max(1, Math.round(opts.perSecond / 20));
    for (let i = 0; i < burst; i++) {
      client.publish(topic, payload(n), { qos: 1 }, () => undefined);
      n++;
    }
  }, 50);
  return {
    sent: () => n,
    async stop() {
      clearInterval(timer);
      await client.endAsync(true);
    },
  };
}
