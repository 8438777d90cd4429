import type { Client } from 'aedes';
import { deliveryOf } from './aedes-adapter';

interface Delivered {
  topic: string;
  qos: number;
  dup?: boolean;
  brokerId?: string | null;
  brokerCounter?: number;
}
type Deliver = (packet: Delivered, cb: () => void) => void;

/**
 * How a message reaches a subscriber, per connection (call once it is authenticated, before aedes restores or
 * adds its subscriptions, which capture `deliver0`/`deliverQoS`):
 *
 * - Out of order is accepted. aedes drops a message as a "duplicate" unless its broker counter is higher than the
 *   last one delivered to that client (`dedupe` in aedes lib/client.js). With an asynchronous persistence (Redis)
 *   a QoS 1 delivery waits for its enqueue while later messages overtake it, so it would be dropped although it
 *   was acknowledged to the publisher (aedes issues #955 and #994). That counter check is switched off.
 * - Once per message, at the highest QoS of the matching subscriptions ([MQTT-3.3.5-1]). The counter check was
 *   also what stopped a second copy when subscriptions overlap (`a/#` and `a/+`); mqemitter calls every matching
 *   subscription of one message in one synchronous pass, so a message seen earlier in the same pass is a copy.
 *   aedes itself downgrades only for a subscription whose filter is the topic itself, so the QoS is decided
 *   here from every matching filter ([MQTT-3.8.4-6]).
 * - DUP 0 on a first delivery, whatever the publisher's DUP was ([MQTT-3.3.1-3]).
 */
export function deliverOncePerMessage(client: Client): void {
  const aedes = deliveryOf<Delivered>(client);
  aedes.setDuplicateCounters(new Proxy({}, { get: () => 0, set: () => true }));

  const { deliver0, deliverQoS } = aedes;
  const thisPass = new Set<string>();
  let clearing = false;

  const deliver: Deliver = (packet, cb) => {
    // Retained messages sent on SUBSCRIBE have no broker id and are per subscription by design.
    if (packet.brokerId) {
      const key = `${packet.brokerId}:${packet.brokerCounter}`;
      if (thisPass.has(key)) return setImmediate(cb);
      thisPass.add(key);
      if (!clearing) {
        clearing = true;
        queueMicrotask(() => {
          thisPass.clear();
          clearing = false;
        });
      }
    }
    packet.dup = false;
    const granted = highestGrantedQos(aedes.subscriptions(), packet.topic);
    if (granted < packet.qos) packet.qos = granted;
    if (packet.qos === 0) deliver0(packet, cb);
    else deliverQoS(packet, cb);
  };
  aedes.replace(deliver, deliver);
}

/** The highest QoS granted to a filter that matches `topic` (0 when none does, e.g. just unsubscribed). */
export function highestGrantedQos(subscriptions: Record<string, { qos: number }>, topic: string): number {
  let best = 0;
  const levels = topic.split('/');
  for (const filter in subscriptions) {
    const qos = subscriptions[filter]!.qos;
    if (qos > best && filterMatches(filter, levels)) best = qos;
  }
  return best;
}

/** MQTT topic matching, with [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a `$` topic. */
export function filterMatches(filter: string, topicLevels: string[]): boolean {
  if ((filter[0] === '#' || filter[0] === '+') && topicLevels[0]!.startsWith('$')) return false;
  const f = filter.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // also matches the parent level itself (`a/#` matches `a`)
    if (i >= topicLevels.length) return false;
    if (f[i] !== '+' && f[i] !== topicLevels[i]) return false;
  }
  return f.length === topicLevels.length;
}
