import { PROTOCOL_VERSION, topics } from '@tamky/protocol';
import { TokenBucket, type Logger } from '@tamky/service-kit';
import type { MqttUplink } from '../uplink/mqtt-uplink';
import type { Outbox } from './outbox';

/**
 * Readings per MQTT message are also capped by size: the broker disconnects a client whose packet exceeds
 * its maxPacketBytes (256 KiB by default), and a gateway that keeps resending an oversized backlog batch
 * would never drain. The margin leaves room for the envelope, the topic and the MQTT header.
 */
export const MAX_BATCH_BYTES = 192 * 1024;

export interface ForwarderOptions {
  gatewayId: string;
  batchSize: number;
  maxInflight: number;
  replayPerSecond: number;
  /** Upper bound of one telemetry message, bytes (brokers and the ingest parser like small messages). */
  maxBatchBytes?: number;
}

/**
 * Moves the outbox to the broker: oldest first (by seq), many readings per MQTT message, at most
 * `maxInflight` unacknowledged messages, at most `replayPerSecond` readings per second (a token bucket,
 * so a 100k backlog after an outage does not flatten the broker while new readings queue behind it).
 * Rows leave the outbox only on PUBACK. After a reconnect the cursor restarts at the oldest row, so a
 * message whose PUBACK was lost is sent again (a duplicate the store's key absorbs) rather than lost.
 */
export class Forwarder {
  private generation = 0;
  private inflight = 0;
  private telemetryCursor = 0;
  private messageCursor = 0;
  private readonly replay: TokenBucket;
  private wakeTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = false;
  published = 0;
  /** The highest seq handed to the broker so far: rows up to it keep their content (a resend must be the same reading). */
  highestSent = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly uplink: MqttUplink,
    private readonly opts: ForwarderOptions,
    private readonly log: Logger,
  ) {
    this.replay = new TokenBucket(opts.replayPerSecond, opts.replayPerSecond, Date.now);
  }

  onConnect(): void {
    this.generation++;
    this.inflight = 0;
    this.telemetryCursor = 0;
    this.messageCursor = 0;
    this.kick();
  }

  onDisconnect(): void {
    this.generation++;
    this.inflight = 0;
  }

  /** Something new is in the outbox (or an ack freed a slot): pump on the next tick, once. */
  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
  }

  private pump(): void {
    if (this.stopped || !this.uplink.connected) return;
    const gen = this.generation;
    // Events and command results first: few, and someone is waiting for them.
    while (this.inflight < this.opts.maxInflight) {
      const rows = this.outbox.nextMessages(this.messageCursor, this.opts.maxInflight - this.inflight);
      if (rows.length === 0) break;
      for (const row of rows) {
        this.messageCursor = row.id;
        let payload = row.payload;
        if (row.kind === 'event') payload = JSON.stringify({ ...(JSON.parse(payload) as object), seq: row.id });
        const topic = row.kind === 'event' ? topics.event(this.opts.gatewayId) : topics.commandResult(this.opts.gatewayId);
        this.send(gen, topic, payload, () => this.outbox.ackMessage(row.id));
      }
    }
    while (this.inflight < this.opts.maxInflight) {
      const allowance = Math.min(this.opts.batchSize, Math.floor(this.replay.available()));
      if (allowance < 1) {
        this.wakeLater(Math.ceil(this.replay.msUntil(1)));
        return;
      }
      const rows = this.outbox.nextTelemetry(this.telemetryCursor, allowance);
      if (rows.length === 0) return;
      const maxBytes = this.opts.maxBatchBytes ?? MAX_BATCH_BYTES;
      const parts: string[] = [];
      let bytes = 0;
      let last = rows[0]!.seq;
      for (const r of rows) {
        const marks = `${r.clock ? `,"clock":"${r.clock}"` : ''}${r.era ? `,"era":${r.era}` : ''}`;
        const part = `{"device":${JSON.stringify(r.device)},"ts":${r.ts},"seq":${r.seq},"values":${r.vals}${marks}}`;
        if (parts.length > 0 && bytes + part.length > maxBytes) break;
        parts.push(part);
        bytes += part.length;
        last = r.seq;
      }
      const first = rows[0]!.seq;
      this.replay.spend(parts.length);
      this.telemetryCursor = last;
      if (last > this.highestSent) this.highestSent = last;
      const payload = `{"v":${PROTOCOL_VERSION},"gateway":${JSON.stringify(this.opts.gatewayId)},"readings":[${parts.join(',')}]}`;
      this.send(gen, topics.telemetry(this.opts.gatewayId), payload, () => this.outbox.ackTelemetry(first, last), parts.length);
    }
  }

  private send(gen: number, topic: string, payload: string, ack: () => void, readings = 0): void {
    this.inflight++;
    this.uplink.publish(topic, payload).then(
      () => {
        // Deleting is right even from an older connection: the broker has the message.
        try {
          ack();
        } catch (err) {
          // Outbox already closed (shutdown): the row stays and is sent again after restart.
          this.log.debug({ err: (err as Error).message }, 'ack after close');
        }
        this.published += readings;
        if (gen !== this.generation) return;
        this.inflight--;
        this.kick();
      },
      (err: Error) => {
        if (gen !== this.generation) return;
        // Publish refused while still "connected" (e.g. mid-disconnect): resend from the oldest row.
        this.log.debug({ err: err.message }, 'publish failed; will resend');
        this.inflight--;
        this.telemetryCursor = 0;
        this.messageCursor = 0;
      },
    );
  }

  private wakeLater(ms: number): void {
    if (this.wakeTimer) return;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.pump();
      },
      Math.max(ms, 5),
    );
  }
}
