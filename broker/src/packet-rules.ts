import type { Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';

type PreConnect = (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) => void;
type AuthorizePublishHandler = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => void;
type AuthorizeSubscribeHandler = (
  client: Client,
  sub: Subscription,
  callback: (error: Error | null, subscription?: Subscription | null) => void,
) => void;

/**
 * MQTT 3.1.1 rules that aedes 1.2 and its parser (mqtt-packet) leave unchecked, applied in aedes' own hooks so a
 * violation is refused the way the standard says: a malformed CONNECT or PUBLISH closes the connection
 * ([MQTT-4.8.0-1]); an invalid Topic Filter gets SUBACK 0x80.
 */

/** What is wrong with a CONNECT that mqtt-packet accepted, or undefined. */
export function connectViolation(packet: ConnectPacket): string | undefined {
  const will = packet.will as { qos?: number } | undefined;
  if (will && (will.qos ?? 0) > 2) return 'Will QoS 3 [MQTT-3.1.2-14]';
  if (packet.password !== undefined && packet.username === undefined) return 'Password without User Name [MQTT-3.1.2-22]';
  if (packet.clientId.includes('\u0000')) return 'U+0000 in the Client Identifier [MQTT-4.7.3-2]';
  return undefined;
}

/** Runs `next` for a CONNECT that is well formed; closes the connection otherwise. */
export function checkConnect(next: PreConnect, onViolation: (client: Client, what: string) => void): PreConnect {
  return (client, packet, callback) => {
    const wrong = connectViolation(packet);
    if (!wrong) return next(client, packet, callback);
    onViolation(client, wrong);
    callback(Object.assign(new Error(`malformed CONNECT: ${wrong}`), { alreadyReported: true }), false);
  };
}

/** A Topic Name containing U+0000 is malformed ([MQTT-4.7.3-2]): the connection is closed. */
export function checkTopicName(
  next: AuthorizePublishHandler,
  onViolation: (client: Client, what: string) => void,
): AuthorizePublishHandler {
  return (client, packet, callback) => {
    if (client && packet.topic.includes('\u0000')) {
      onViolation(client, 'U+0000 in a Topic Name [MQTT-4.7.3-2]');
      return callback(Object.assign(new Error('malformed PUBLISH: U+0000 in the Topic Name'), { alreadyReported: true }));
    }
    next(client, packet, callback);
  };
}

/** Is `filter` a valid Topic Filter ([MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.3-1], [MQTT-4.7.3-2])? */
export function validTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return true;
}

/** An invalid Topic Filter is refused with SUBACK 0x80; valid ones go on to `next`. */
export function checkTopicFilter(
  next: AuthorizeSubscribeHandler,
  onViolation: (client: Client, filter: string) => void,
): AuthorizeSubscribeHandler {
  return (client, sub, callback) => {
    if (!validTopicFilter(sub.topic)) {
      onViolation(client, sub.topic);
      return callback(null, null);
    }
    next(client, sub, callback);
  };
}
