import type { Aedes, Client, PublishPacket } from 'aedes';
import { publishOf, wrapPublish } from './aedes-adapter';

type AuthorizePublishHandler = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => void;

const PUBLISHED = Symbol('published (or dropped) before its acknowledgement');
type Marked = PublishPacket & { [PUBLISHED]?: true };

/**
 * aedes writes the PUBACK of a QoS 1 PUBLISH first and only then queues the message for subscribers
 * (lib/handlers/publish.js `enqueuePublish`). The gateway deletes the reading from its outbox on that
 * PUBACK, so a broker that dies (or shuts down, closing its Redis connection) between the two had
 * acknowledged a reading no session holds: lost. Here the publish itself runs inside the authorization
 * step, which aedes completes before writing the PUBACK; the packet is marked, and aedes' own publish
 * after the PUBACK skips it. The PUBACK then means "queued for every persistent session", which is what
 * the edge's outbox relies on.
 */
export function ackAfterEnqueue(broker: () => Aedes, authorize: AuthorizePublishHandler): AuthorizePublishHandler {
  return (client, packet, callback) => {
    authorize(client, packet, (err) => {
      if (err || !client || packet.qos !== 1 || (packet as Marked)[PUBLISHED]) return callback(err ?? null);
      publishOf<Marked>(broker())(packet, client, (publishErr) => {
        if (publishErr) return callback(publishErr);
        (packet as Marked)[PUBLISHED] = true;
        callback(null);
      });
    });
  };
}

/**
 * Acknowledges a PUBLISH without routing it: aedes answers it as usual (PUBACK, or PUBREC/PUBCOMP) and its own
 * publish step skips it. Call from an authorizePublish handler before calling back without error.
 */
export function acknowledgeAndDrop(packet: PublishPacket): void {
  (packet as Marked)[PUBLISHED] = true;
}

/** Makes aedes' publish-after-PUBACK a no-op for packets `ackAfterEnqueue` already published. */
export function skipRepublish(broker: Aedes): void {
  wrapPublish<Marked>(broker, (publish) => (packet, client, done) => {
    if (packet[PUBLISHED]) {
      delete packet[PUBLISHED];
      return done(null);
    }
    publish(packet, client, done);
  });
}
