import { isUtf8 } from 'node:buffer';
import type { Client, ConnectPacket, Subscription } from 'aedes';

type PreConnect = (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) => void;
type AuthorizeSubscribeHandler = (client: Client, sub: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void) => void;

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

/**
 * A string field that is not well-formed UTF-8 or contains U+0000 is malformed ([MQTT-1.5.3-1], [MQTT-1.5.3-2],
 * hence [MQTT-3.1.3-4], [MQTT-3.1.3-10], [MQTT-3.1.3-11], [MQTT-3.3.2-1], [MQTT-3.8.3-1], [MQTT-3.10.3-1],
 * [MQTT-4.7.3-2]). mqtt-packet decodes with replacement characters, so only a string holding U+FFFD has its
 * bytes checked: the hot path (every topic of every reading) costs two `includes`.
 */
export function illFormedString(decoded: string, bytes: () => Buffer): boolean {
  if (decoded.includes('\u0000')) return true;
  return decoded.includes('\uFFFD') && !isUtf8(bytes());
}

/** Is `filter` a valid Topic Filter ([MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.3-1])? */
export function validTopicFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return true;
}

/** An invalid Topic Filter is refused with SUBACK 0x80; valid ones go on to `next`. */
export function checkTopicFilter(next: AuthorizeSubscribeHandler, onViolation: (client: Client, filter: string) => void): AuthorizeSubscribeHandler {
  return (client, sub, callback) => {
    if (!validTopicFilter(sub.topic)) {
      onViolation(client, sub.topic);
      return callback(null, null);
    }
    next(client, sub, callback);
  };
}
