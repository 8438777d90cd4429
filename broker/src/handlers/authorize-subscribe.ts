import type { Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { maySubscribe } from '../acl';
import { describeIdentity, identityOf } from '../identity';
import type { BrokerMetrics } from '../metrics';

/** A filter beyond the client's rights is negated: SUBACK 0x80 for that filter, the connection stays up. */
export function createAuthorizeSubscribe({ metrics, log }: { metrics: BrokerMetrics; log: Logger }) {
  return function authorizeSubscribe(
    client: Client,
    sub: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const identity = identityOf(client);
    const refusal = identity ? maySubscribe(identity, sub.topic) : 'not-allowed-topic';
    if (refusal) {
      const reason = refusal === 'not-allowed-topic' ? 'subscribe-not-allowed' : refusal;
      metrics.refusals.inc({ reason });
      log.warn({ reason, who: describeIdentity(identity), clientId: client.id, filter: sub.topic }, 'subscription refused');
      return callback(null, null);
    }
    callback(null, sub);
  };
}
