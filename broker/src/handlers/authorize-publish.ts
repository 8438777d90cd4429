import type { Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { mayPublish } from '../acl';
import { describeIdentity, identityOf, type Identity } from '../identity';
import type { TokenBucket } from '@tamky/service-kit';
import type { BrokerMetrics } from '../metrics';
import { isWill, willOwnerOf } from '../wills';

export interface AuthorizePublishDeps {
  metrics: BrokerMetrics;
  log: Logger;
  /** The client's publish-rate bucket, if it is rate limited (gateways and anonymous clients). */
  bucketOf(client: Client): TokenBucket | undefined;
  /** The identity a will's stamped owner has now: undefined if it is unknown or disabled. */
  identityOfOwner(name: string): Identity | undefined;
  /** Removes a refused will from persistence so the will sweep does not try it again. */
  discardWill(packet: PublishPacket): void;
}

/**
 * Above its rate a client is slowed down, not cut off: the PUBLISH is held until its token is due, and aedes
 * reads nothing more from that socket meanwhile, so TCP backpressure paces the sender and nothing is lost (an
 * edge outbox replay simply takes longer). Only a client that runs more than this far ahead is disconnected.
 */
const MAX_THROTTLE_SECONDS = 10;

/**
 * MQTT 3.1.1 cannot refuse a single PUBLISH, so a refusal closes the connection (aedes' behaviour, [MQTT-3.3.5-2]).
 * For a gateway that is the safe choice: its QoS 1 readings stay in its durable outbox instead of being acked
 * and dropped.
 *
 * A will is checked as its owner's publish: the identity stamped on it at CONNECT (wills.ts), as that identity
 * stands now (a gateway disabled since cannot publish its will). This covers the client-less publishes of wills
 * that another broker process left behind, and wills fired while some client holds the will's clientId. Any
 * other client-less publish cannot be attributed to anyone and is refused.
 */
export function createAuthorizePublish({ metrics, log, bucketOf, identityOfOwner, discardWill }: AuthorizePublishDeps) {
  const accepted = [metrics.messagesIn.labels('0'), metrics.messagesIn.labels('1'), metrics.messagesIn.labels('2')];
  const throttled = metrics.throttled;
  return function authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
    const owner = willOwnerOf(packet);
    if (owner !== undefined || !client || isWill(packet)) {
      const willIdentity = owner === undefined ? undefined : identityOfOwner(owner);
      const refusal = willIdentity ? mayPublish(willIdentity, packet.topic, packet.retain) : 'will-unattributed';
      if (!refusal) return callback(null);
      const reason = refusal === 'not-allowed-topic' ? 'publish-not-allowed' : refusal;
      metrics.refusals.inc({ reason });
      log.warn(
        {
          reason,
          owner: owner ?? null,
          clientId: client?.id ?? (packet as { clientId?: string }).clientId,
          topic: packet.topic,
          retain: packet.retain,
        },
        'will refused; discarded',
      );
      discardWill(packet);
      return callback(reported(new Error(`will on ${packet.topic} refused: ${reason}`)));
    }
    const identity = identityOf(client);
    const refusal = identity ? mayPublish(identity, packet.topic, packet.retain) : 'not-allowed-topic';
    if (refusal) {
      const reason = refusal === 'not-allowed-topic' ? 'publish-not-allowed' : refusal;
      metrics.refusals.inc({ reason });
      log.warn(
        { reason, who: describeIdentity(identity), clientId: client.id, topic: packet.topic, retain: packet.retain },
        'publish refused; disconnecting',
      );
      return callback(reported(new Error(`publish to ${packet.topic} refused: ${reason}`)));
    }
    const bucket = bucketOf(client);
    const wait = bucket ? bucket.reserve(MAX_THROTTLE_SECONDS) : 0;
    if (wait === Infinity) {
      metrics.refusals.inc({ reason: 'publish-rate' });
      log.warn(
        { reason: 'publish-rate', who: describeIdentity(identity), clientId: client.id },
        `publish rate exceeded by more than ${MAX_THROTTLE_SECONDS} s worth; disconnecting`,
      );
      return callback(reported(new Error('publish rate exceeded')));
    }
    accepted[packet.qos]?.inc();
    if (wait === 0) return callback(null);
    throttled.inc();
    setTimeout(callback, wait, null);
  };
}

/** Marks an error as logged and counted here, so the broker's clientError listener does not log it twice. */
const reported = (err: Error) => Object.assign(err, { alreadyReported: true });
