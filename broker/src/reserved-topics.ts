import type { Client, PublishPacket } from 'aedes';
import { acknowledgeAndDrop } from './ack-after-enqueue';

type AuthorizePublishHandler = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => void;

/**
 * `$` topics ($SYS/…) belong to the server (MQTT 3.1.1 §4.7.2). A client's PUBLISH there is acknowledged and
 * dropped, as Mosquitto does, rather than closing the connection: [MQTT-3.3.5-2] allows either, and general
 * clients and tools expect the acknowledgement. Every other PUBLISH goes on to `authorize`.
 */
export function dropReservedTopicPublishes(
  authorize: AuthorizePublishHandler,
  onDrop: (client: Client, topic: string) => void,
): AuthorizePublishHandler {
  return (client, packet, callback) => {
    if (client && packet.topic.startsWith('$')) {
      onDrop(client, packet.topic);
      acknowledgeAndDrop(packet);
      return callback(null);
    }
    authorize(client, packet, callback);
  };
}
