import { parseGatewayTopic, readingSchema, PROTOCOL_VERSION, type DeadLetter, type Reading, type StoredReading } from '@tamky/protocol';
import { z } from 'zod';
import { fastEnvelope, isReading, KIND_SPECS, type FieldSpecs } from './fast-reading';
import { scanValidTelemetry } from './scan-telemetry';
import type { Registry } from './registry';

/** Why something was dead-lettered; the metric label. The letter's `reason` is `code: detail`. */
export type RejectCode =
  | 'malformed_json'
  | 'bad_topic'
  | 'schema'
  | 'unsupported_version'
  | 'gateway_mismatch'
  | 'unknown_gateway'
  | 'unknown_device'
  | 'foreign_device'
  | 'unknown_field'
  | 'wrong_unit'
  | 'out_of_range';

export interface Rejection {
  code: RejectCode;
  letter: DeadLetter;
}

export interface ValidatedMessage {
  gateway: string | null;
  readings: StoredReading[];
  rejections: Rejection[];
  /** Field values kept in `readings`, and the newest reading's ts (-Infinity when none): counted here, in the one pass over them, for the metrics. */
  values: number;
  newestTs: number;
}

/** Envelope only: readings are checked one by one so a bad reading does not reject its good neighbours. */
const envelopeSchema = z.object({
  v: z.number(),
  gateway: z.string(),
  readings: z.array(z.unknown()).min(1).max(10_000),
});

const NO_FIELDS: FieldSpecs = {};

const MAX_RAW = 16_384;
const clip = (s: string) => (s.length > MAX_RAW ? `${s.slice(0, MAX_RAW)}…[${s.length - MAX_RAW} more chars]` : s);
const describeZod = (e: z.ZodError) =>
  e.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');

const gatewayOfTelemetryTopic = (topic: string): string | undefined => {
  const t = parseGatewayTopic(topic);
  return t?.kind === 'telemetry' ? t.gatewayId : undefined;
};

/** The dead letter's raw text of one rejected value. */
function rawValue(r: Reading, field: string): string {
  const { v, u } = r.values[field]!;
  return JSON.stringify({ device: r.device, ts: r.ts, seq: r.seq, field, value: { v, u } });
}

/**
 * Turns one telemetry message into stored readings (registry tags added) and dead letters. Values are
 * rejected one by one: a reading keeps its good values, and is dropped only when none is left.
 */
export function validateTelemetry(
  topic: string,
  payload: Buffer | string,
  registry: Registry,
  now: number,
  opts: { scan?: boolean } = {},
): ValidatedMessage {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  // The common case, every reading accepted, read straight from the text (scan-telemetry.ts); anything else the full way below.
  const scanGateway = opts.scan === false ? undefined : gatewayOfTelemetryTopic(topic);
  if (scanGateway !== undefined) {
    const scanned = scanValidTelemetry(text, scanGateway, registry);
    if (scanned)
      return { gateway: scanGateway, readings: scanned.readings, rejections: [], values: scanned.values, newestTs: scanned.newestTs };
  }
  const rejections: Rejection[] = [];
  const reject = (code: RejectCode, detail: string, gateway: string | null, device: string | null, raw: string) =>
    rejections.push({ code, letter: { ts: now, topic, gateway, device, reason: `${code}: ${detail}`, raw: clip(raw) } });

  const parsedTopic = parseGatewayTopic(topic);
  if (!parsedTopic || parsedTopic.kind !== 'telemetry') {
    reject('bad_topic', `not a telemetry topic`, null, null, text);
    return { gateway: null, readings: [], rejections, values: 0, newestTs: -Infinity };
  }
  const gateway = parsedTopic.gatewayId;

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    reject('malformed_json', (err as Error).message, gateway, null, text);
    return { gateway, readings: [], rejections, values: 0, newestTs: -Infinity };
  }
  // The hand-written check decides; zod, the specification, words the reason of a rejection.
  const envelope = fastEnvelope(json);
  if (!envelope) {
    const zodVerdict = envelopeSchema.safeParse(json);
    reject('schema', zodVerdict.success ? 'rejected by the fast envelope check' : describeZod(zodVerdict.error), gateway, null, text);
    return { gateway, readings: [], rejections, values: 0, newestTs: -Infinity };
  }
  if (envelope.v !== PROTOCOL_VERSION) {
    reject('unsupported_version', `protocol version ${envelope.v}, ingest speaks ${PROTOCOL_VERSION}`, gateway, null, text);
    return { gateway, readings: [], rejections, values: 0, newestTs: -Infinity };
  }
  if (envelope.gateway !== gateway) {
    reject('gateway_mismatch', `payload says gateway "${envelope.gateway}" on the topic of "${gateway}"`, gateway, null, text);
    return { gateway, readings: [], rejections, values: 0, newestTs: -Infinity };
  }
  if (!registry.hasGateway(gateway)) {
    reject('unknown_gateway', `gateway "${gateway}" is not in the registry`, gateway, null, text);
    return { gateway, readings: [], rejections, values: 0, newestTs: -Infinity };
  }

  const readings: StoredReading[] = [];
  let values = 0;
  let newestTs = -Infinity;
  for (const rawReading of envelope.readings) {
    if (!isReading(rawReading)) {
      const device = typeof (rawReading as { device?: unknown })?.device === 'string' ? (rawReading as { device: string }).device : null;
      const zodVerdict = readingSchema.safeParse(rawReading);
      reject(
        'schema',
        zodVerdict.success ? 'rejected by the fast reading check' : describeZod(zodVerdict.error),
        gateway,
        device,
        JSON.stringify(rawReading),
      );
      continue;
    }
    const r = rawReading;
    const device = registry.device(r.device);
    if (!device) {
      reject('unknown_device', `device "${r.device}" is not in the registry`, gateway, r.device, JSON.stringify(rawReading));
      continue;
    }
    if (device.gateway !== gateway) {
      reject(
        'foreign_device',
        `device "${r.device}" belongs to gateway "${device.gateway}", not "${gateway}"`,
        gateway,
        r.device,
        JSON.stringify(rawReading),
      );
      continue;
    }
    const spec = KIND_SPECS.get(device.kind) ?? NO_FIELDS;
    const keptValues: Record<string, number> = {};
    let kept = 0;
    for (const field in r.values) {
      const { v, u } = r.values[field]!;
      const f = spec[field];
      if (!f) reject('unknown_field', `"${field}" is not a field of ${device.kind}`, gateway, r.device, rawValue(r, field));
      else if (f.unit !== u) reject('wrong_unit', `${field} in "${u}", expected "${f.unit}"`, gateway, r.device, rawValue(r, field));
      else if (v < f.min || v > f.max)
        reject('out_of_range', `${field}=${v} ${u} outside ${f.min}..${f.max}`, gateway, r.device, rawValue(r, field));
      else {
        keptValues[field] = v;
        kept++;
      }
    }
    if (kept === 0) continue;
    const stored: StoredReading = {
      kind: device.kind,
      device: r.device,
      gateway,
      ward: device.ward,
      ts: r.ts,
      seq: r.seq,
      values: keptValues,
    };
    if (r.era) stored.era = r.era;
    if (r.clock) stored.clock = r.clock;
    readings.push(stored);
    values += kept;
    if (r.ts > newestTs) newestTs = r.ts;
  }
  return { gateway, readings, rejections, values, newestTs };
}
