import { describe, expect, it } from 'vitest';
import { KIND_FIELDS, telemetryBatchSchema, topics, type StoredReading } from '@tamky/protocol';
import { brokerConfigSchema } from '@tamky/broker';
import { ingestConfigSchema, liveMessages } from '@tamky/ingest';
import { MAX_BATCH_BYTES } from '@tamky/edge';

/**
 * Defaults that must agree across services. The broker disconnects a client whose packet exceeds its
 * maxPacketBytes; a gateway or ingest that keeps sending such packets would reconnect forever.
 */
const brokerDefaults = brokerConfigSchema.parse({ profile: 'development', listeners: { mqtt: { port: 0 } } });
const maxPacket = brokerDefaults.limits.maxPacketBytes;
/** The widest reading a city sends: a street-light controller, every field, long ids and values. */
const widestValues = Object.fromEntries(
  Object.entries(KIND_FIELDS.street_light).map(([field, spec]) => [field, { v: 123456.789, u: spec.unit }]),
);
const mqttOverhead = (topic: string) => 5 + 2 + Buffer.byteLength(topic) + 2;

describe('size limits between services', () => {
  it("a gateway's largest telemetry message fits the broker's default packet size", () => {
    const reading = { device: 'tam-thanh-light-99', ts: 1_795_670_625_038, seq: 9_999_999_999, values: widestValues };
    const part = Buffer.byteLength(JSON.stringify(reading));
    const perMessage = Math.floor(MAX_BATCH_BYTES / part);
    const payload = JSON.stringify({ v: 1, gateway: 'gw-tam-thanh-99', readings: Array.from({ length: perMessage }, () => reading) });
    expect(telemetryBatchSchema.safeParse(JSON.parse(payload)).success).toBe(true);
    expect(Buffer.byteLength(payload) + mqttOverhead(topics.telemetry('gw-tam-thanh-99'))).toBeLessThan(maxPacket);
  });

  it("ingest's live-feed messages fit the broker's default packet size, however wide the readings", () => {
    const { chunk, maxBytes } = ingestConfigSchema.parse({ mqtt: { url: 'mqtt://x' } }).live;
    const reading: StoredReading = {
      kind: 'street_light',
      device: 'tam-thanh-light-99',
      gateway: 'gw-tam-thanh-99',
      ward: 'tam-thanh',
      ts: 1_795_670_625_038,
      seq: 9_999_999_999,
      values: Object.fromEntries(Object.keys(widestValues).map((f) => [f, 123456.789])),
    };
    const batch = Array.from({ length: 5000 }, (_, i) => ({ ...reading, seq: i }));
    const messages = liveMessages(batch, chunk, maxBytes);
    expect(messages.flatMap((m) => JSON.parse(m).readings.map((r: StoredReading) => r.seq))).toEqual(batch.map((r) => r.seq));
    for (const payload of messages) expect(Buffer.byteLength(payload) + mqttOverhead(topics.liveReadings())).toBeLessThan(maxPacket);
  });
});
