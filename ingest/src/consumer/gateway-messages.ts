import { gatewayHealthSchema, gatewayStatusSchema, parseGatewayTopic, partitionOf, topics } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { ResolvedIngestConfig } from '../config';
import type { IngestMetrics } from '../metrics';
import type { Observers } from '../observers';
import type { Registry } from '../validate/registry';
import { validateTelemetry } from '../validate/validate-batch';
import type { Ack } from './deferred-acks';
import type { BatchPipeline } from './pipeline';
import type { SeenSeqs } from './seen-seqs';

export type MessageHandler = (topic: string, payload: Buffer, packet: { dup?: boolean }, ack: Ack) => void;

/**
 * One received message by its topic: telemetry is validated and queued for a durable write (acked once
 * durable); the registry goes to the config follower; gateway health and status go to the observers. A
 * malformed message is counted and logged, never thrown.
 */
export function gatewayMessageHandler(opts: {
  partition: ResolvedIngestConfig['partition'];
  metrics: IngestMetrics;
  log: Logger;
  now: () => number;
  registry: () => Registry;
  seen: SeenSeqs;
  pipeline: BatchPipeline;
  applyRegistry: (payload: Buffer) => void;
  observers: Observers;
}): MessageHandler {
  const { partition, metrics: m, log, now, seen, pipeline, observers } = opts;
  return (topic, payload, packet, ack) => {
    const parsed = parseGatewayTopic(topic);
    try {
      if (parsed?.kind === 'telemetry') {
        m.messages.inc({ type: 'telemetry' });
        if (packet.dup) m.redeliveries.inc({ signal: 'mqtt_dup' });
        if (partition.count > 1 && partitionOf(parsed.gatewayId, partition.count) !== partition.index) {
          // Left over from an older subscription set. Storing is idempotent, so store rather than drop.
          log.warn({ gateway: parsed.gatewayId }, 'telemetry of another partition received; storing it anyway');
        }
        const v = validateTelemetry(topic, payload, opts.registry(), now());
        let repeated = 0;
        for (const r of v.readings) if (seen.check(r.gateway, r.seq)) repeated++;
        if (repeated > 0) m.redeliveries.inc({ signal: 'seen_seq' }, repeated);
        for (const rej of v.rejections)
          log.debug({ reason: rej.letter.reason, gateway: rej.letter.gateway, device: rej.letter.device }, 'dead letter');
        pipeline.push({
          readings: v.readings,
          deadLetters: v.rejections.map((r) => r.letter),
          ack,
          receivedAt: Date.now(),
          values: v.values,
          newestTs: v.newestTs,
        });
        return;
      }
      ack();
      if (topic === topics.configRegistry()) {
        opts.applyRegistry(payload);
        return;
      }
      if (parsed?.kind === 'health') {
        m.messages.inc({ type: 'health' });
        const h = gatewayHealthSchema.safeParse(JSON.parse(payload.toString('utf8')));
        if (!h.success || h.data.gateway !== parsed.gatewayId) throw new Error(h.success ? 'gateway mismatch' : h.error.message);
        void observers.call('onGatewayHealth', (o) => o.onGatewayHealth?.(h.data, now()));
      } else if (parsed?.kind === 'status') {
        m.messages.inc({ type: 'status' });
        if (payload.length === 0) return; // retained status cleared
        const s = gatewayStatusSchema.safeParse(JSON.parse(payload.toString('utf8')));
        if (!s.success || s.data.gateway !== parsed.gatewayId) throw new Error(s.success ? 'gateway mismatch' : s.error.message);
        void observers.call('onGatewayStatus', (o) => o.onGatewayStatus?.(s.data, now()));
      }
    } catch (err) {
      m.deadLetters.inc({ reason: `invalid_${parsed?.kind ?? 'topic'}` });
      log.warn({ topic, err: (err as Error).message }, 'invalid gateway message ignored');
    }
  };
}
