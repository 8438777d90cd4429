import { topics, type StoredReading } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { DurableBatch } from './consumer/pipeline';
import type { IngestMetrics } from './metrics';
import type { Observers } from './observers';

/**
 * What happens once a batch is durable, in this order: back to the broker if ingest had left it, the PUBACKs,
 * the metrics, the live feed, then the observers (alarm detection) with raw and derived readings.
 */
export function afterDurable(opts: {
  metrics: IngestMetrics;
  log: Logger;
  now: () => number;
  rejoinBroker: () => void;
  publishLive: (topic: string, readings: StoredReading[]) => void;
  observers: Observers;
}): (batch: DurableBatch) => Promise<void> {
  const { metrics: m, log, now, observers } = opts;
  // Derived readings per kind, one counter increment per kind a batch touched (a label lookup per reading was not free).
  const derivedByKind = new Map<string, number>();
  const countDerived = (derived: StoredReading[]) => {
    if (derived.length === 0) return;
    for (const d of derived) derivedByKind.set(d.kind, (derivedByKind.get(d.kind) ?? 0) + 1);
    for (const [kind, n] of derivedByKind) m.derived.inc({ kind }, n);
    derivedByKind.clear();
  };

  return async ({ raw, derived, messages, writeMs }) => {
    opts.rejoinBroker();
    for (const msg of messages) msg.ack();
    if (log.isLevelEnabled('debug'))
      log.debug(
        { messages: messages.length, readings: raw.length, first: raw[0] && `${raw[0].gateway}#${raw[0].seq}`, writeMs },
        'batch durable, acked',
      );
    const t = now();
    m.points.inc(raw.length);
    // Per message, from what validation counted: no pass over the readings here.
    let values = 0;
    let newest = -Infinity;
    for (const msg of messages) {
      values += msg.values;
      if (msg.newestTs > newest) newest = msg.newestTs;
      if (msg.newestTs > 0) m.lagSeconds.observe(Math.max(0, (t - msg.newestTs) / 1000));
      for (const l of msg.deadLetters) m.deadLetters.inc({ reason: l.reason.split(':')[0] ?? 'unknown' });
    }
    m.values.inc(values);
    countDerived(derived);
    // A batch of derived rows alone (held back to coalesce, due with no message waiting) is not a raw batch.
    if (messages.length > 0) m.batchReadings.observe(raw.length);
    m.writeSeconds.observe(writeMs / 1000);
    if (newest > 0) m.lastLag.set(Math.max(0, (t - newest) / 1000));
    opts.publishLive(topics.liveReadings(), raw);
    opts.publishLive(topics.liveDerived(), derived);
    if (observers.count > 0 && raw.length + derived.length > 0) {
      const all = derived.length > 0 ? raw.concat(derived) : raw;
      await observers.call('onReadings', (o) => o.onReadings(all, t));
    }
  };
}
