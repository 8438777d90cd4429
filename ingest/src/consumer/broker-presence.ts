import type { Logger } from '@tamky/service-kit';
import type { IngestMetrics } from '../metrics';
import type { BrokerConnection } from './broker-connection';

/**
 * While the store keeps refusing writes ingest leaves the broker rather than stop reading its socket: a
 * subscriber that does not drain is disconnected by the broker's drain timeout again and again, and each
 * reconnect resends its queue from the head. Away, its persistent session simply queues in the broker, and
 * the first durable write brings it back.
 */
export function createBrokerPresence(opts: {
  connection: () => BrokerConnection | undefined;
  closed: () => boolean;
  metrics: IngestMetrics;
  log: Logger;
}): { leave(): void; rejoin(): void } {
  const { metrics: m, log } = opts;
  let away = false;
  return {
    leave() {
      const c = opts.connection();
      if (away || opts.closed() || !c?.client.connected) return;
      away = true;
      m.storePauses.inc();
      m.connected.set(0);
      log.warn('the store keeps refusing writes: leaving the broker until a write succeeds (the session queues meanwhile)');
      c.acks.leaving();
      c.client.end(false);
    },
    rejoin() {
      if (!away || opts.closed()) return;
      away = false;
      log.info('the store writes again: back to the broker');
      opts.connection()!.client.reconnect();
    },
  };
}
