import type { MqttClient } from 'mqtt';
import type { StoredReading } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { ResolvedIngestConfig } from './config';

/** Default cap of one live message, bytes: under the broker's default maxPacketBytes (256 KiB) with room for the header. */
export const LIVE_MAX_BYTES = 192 * 1024;

/**
 * Splits readings into live-feed payloads (`{ readings: [...] }`) of at most `maxReadings` readings and
 * `maxBytes` bytes each: a broker disconnects a client sending a packet above its limit, and readings of
 * a street-light controller are several times larger than those of a noise meter.
 *
 * A message is one JSON.stringify of its readings (cheaper than one per reading joined, and no
 * string per reading for the collector). Its byte size is looked at only when it could be over the cap
 * (chars ≤ UTF-8 bytes ≤ 3 × chars); a message over it is cut into as many pieces as its size asks for
 * (each checked again), so wide readings cost at most about one more serialisation, not a halving cascade.
 */
export function liveMessages(readings: StoredReading[], maxReadings: number, maxBytes = LIVE_MAX_BYTES): string[] {
  const messages: string[] = [];
  const emit = (part: StoredReading[]) => {
    const message = JSON.stringify({ readings: part });
    const bytes = part.length > 1 && message.length * 3 > maxBytes ? Buffer.byteLength(message) : 0;
    if (bytes <= maxBytes) {
      messages.push(message);
      return;
    }
    // Pieces sized from this message's bytes per reading, with a margin for readings wider than the mean.
    const per = Math.max(1, Math.floor((part.length * maxBytes * 0.9) / bytes));
    for (let i = 0; i < part.length; i += per) emit(part.slice(i, i + per));
  };
  if (readings.length <= maxReadings) {
    if (readings.length > 0) emit(readings);
  } else for (let i = 0; i < readings.length; i += maxReadings) emit(readings.slice(i, i + maxReadings));
  return messages;
}

/** The newest reading of each (kind, device): what a live screen shows when the feed is coalesced. */
export function newestPerDevice(readings: StoredReading[]): StoredReading[] {
  const newest = new Map<string, StoredReading>();
  for (const r of readings) {
    const key = `${r.kind}\0${r.device}`;
    const prev = newest.get(key);
    if (!prev || r.ts >= prev.ts) newest.set(key, r);
  }
  return [...newest.values()];
}

/** Publishes stored readings on the live feed (QoS 0, best effort: the store is the record) while connected. */
export function createLivePublisher(
  live: ResolvedIngestConfig['live'],
  client: () => MqttClient | undefined,
  log: Logger,
): (topic: string, readings: StoredReading[]) => void {
  return (topic, readings) => {
    const c = client();
    if (!live.enabled || readings.length === 0 || !c?.connected) return;
    const sent = live.mode === 'latest' ? newestPerDevice(readings) : readings;
    for (const payload of liveMessages(sent, live.chunk, live.maxBytes)) {
      c.publish(topic, payload, { qos: 0 }, (err) => {
        if (err) log.debug({ err }, 'live publish failed');
      });
    }
  };
}
