import type { StoredReading } from '@tamky/protocol';

/** Default cap of one live message, bytes: under the broker's default maxPacketBytes (256 KiB) with room for the header. */
export const LIVE_MAX_BYTES = 192 * 1024;

const wrap = (parts: string[]) => `{"readings":[${parts.join(',')}]}`;
const WRAP_BYTES = wrap([]).length;

/**
 * Splits readings into live-feed payloads (`{ readings: [...] }`) of at most `maxReadings` readings and
 * `maxBytes` bytes each: a broker disconnects a client sending a packet above its limit, and readings of
 * a street-light controller are several times larger than those of a noise meter.
 *
 * Each reading is serialised once. Messages are cut by character count (never more than the UTF-8 bytes)
 * and the exact byte size is checked once per message, not per reading; a message over the cap (non-ASCII
 * tags) is split in halves until it fits.
 */
export function liveMessages(readings: StoredReading[], maxReadings: number, maxBytes = LIVE_MAX_BYTES): string[] {
  const messages: string[] = [];
  const emit = (parts: string[]) => {
    const message = wrap(parts);
    if (parts.length > 1 && message.length * 3 > maxBytes && Buffer.byteLength(message) > maxBytes) {
      const half = parts.length >> 1;
      emit(parts.slice(0, half));
      emit(parts.slice(half));
    } else messages.push(message);
  };
  let parts: string[] = [];
  let chars = WRAP_BYTES;
  for (const reading of readings) {
    const part = JSON.stringify(reading);
    if (parts.length && (parts.length >= maxReadings || chars + part.length + 1 > maxBytes)) {
      emit(parts);
      parts = [];
      chars = WRAP_BYTES;
    }
    parts.push(part);
    chars += part.length + 1;
  }
  if (parts.length) emit(parts);
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
