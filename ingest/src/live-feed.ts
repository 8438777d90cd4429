import type { StoredReading } from '@tamky/protocol';

/** Default cap of one live message, bytes: under the broker's default maxPacketBytes (256 KiB) with room for the header. */
export const LIVE_MAX_BYTES = 192 * 1024;

/**
 * Splits readings into live-feed payloads (`{ readings: [...] }`) of at most `maxReadings` readings and
 * `maxBytes` bytes each: a broker disconnects a client sending a packet above its limit, and readings of
 * a street-light controller are several times larger than those of a noise meter.
 */
export function liveMessages(readings: StoredReading[], maxReadings: number, maxBytes = LIVE_MAX_BYTES): string[] {
  const messages: string[] = [];
  let parts: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (parts.length) messages.push(`{"readings":[${parts.join(',')}]}`);
    parts = [];
    bytes = 0;
  };
  for (const reading of readings) {
    const part = JSON.stringify(reading);
    const size = Buffer.byteLength(part) + 1;
    if (parts.length && (parts.length >= maxReadings || bytes + size > maxBytes)) flush();
    parts.push(part);
    bytes += size;
  }
  flush();
  return messages;
}
