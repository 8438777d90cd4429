import type { MqttClient } from 'mqtt';
import { requirePinnedVersion } from '@tamky/service-kit';

/**
 * The one place that knows mqtt.js internals. ingest's ack-after-durable needs to hold a PUBACK mqtt.js is
 * about to send (deferred-acks.ts explains why no public hook does), which only the private `_sendPacket`
 * allows. The version below is the one ingest's tests ran against; package.json pins it exactly and
 * `assertTestedMqttVersion` refuses to start on any other.
 */
export const TESTED_MQTT_VERSION = '5.16.0';

export function assertTestedMqttVersion(fromModuleUrl = import.meta.url): void {
  requirePinnedVersion('mqtt', TESTED_MQTT_VERSION, 'ingest/src/consumer/mqtt-adapter.ts', fromModuleUrl);
}

export interface OutgoingPacket {
  cmd: string;
  messageId?: number;
}
/** Sends `packet` the way mqtt.js would have (the arguments it was given besides the callback are kept). */
export type SendAsIs = (cb?: (err?: Error) => void) => void;

/**
 * Routes every packet mqtt.js sends through `intercept`, which either sends it (`send`) now, later, or never,
 * and calls `cb` when mqtt.js should consider it sent.
 */
export function interceptOutgoing(
  client: MqttClient,
  intercept: (packet: OutgoingPacket, cb: ((err?: Error) => void) | undefined, send: SendAsIs) => void,
): void {
  const c = client as unknown as { _sendPacket: (packet: OutgoingPacket, cb?: (err?: Error) => void, ...rest: unknown[]) => void };
  const original = c._sendPacket.bind(client);
  c._sendPacket = (packet, cb, ...rest) => intercept(packet, cb, (sendCb) => original(packet, sendCb, ...rest));
}
