import type { DeadLetter, StoredReading } from '@tamky/protocol';

/** InfluxDB caps a string field at 64 KiB; a dead letter's raw payload is cut to stay below it. */
export const MAX_STRING_FIELD = 60_000;

function noNewline(s: string, what: string): string {
  if (s.includes('\n') || s.includes('\r')) throw new Error(`line protocol cannot carry a newline in ${what}: ${JSON.stringify(s)}`);
  return s;
}

/** Measurement names: commas and spaces are escaped. */
export function escapeMeasurement(s: string): string {
  return noNewline(s, 'a measurement').replace(/[, ]/g, (c) => `\\${c}`);
}

/** Tag keys, tag values and field keys: commas, equals signs and spaces are escaped. */
export function escapeTagOrKey(s: string): string {
  return noNewline(s, 'a tag or field key').replace(/[,= ]/g, (c) => `\\${c}`);
}

/**
 * An escape remembered per name: the names every line repeats (kinds, devices, gateways, wards, field
 * names; a city has thousands, not millions) then cost a lookup instead of a regex pass per line.
 */
function remembered(escape: (s: string) => string): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let e = seen.get(s);
    if (e === undefined) {
      e = escape(s);
      // Bounded: a flood of distinct names (a bug upstream) must not grow memory without end.
      if (seen.size >= 50_000) seen.clear();
      seen.set(s, e);
    }
    return e;
  };
}
const measurementName = remembered(escapeMeasurement);
const escapeName = remembered(escapeTagOrKey);

export function escapeStringField(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function tags(pairs: Array<[string, string | null | undefined]>): string {
  // Empty tag values are not allowed by line protocol: such tags are left out. Keys are already sorted,
  // which is what the server would otherwise do for every line.
  return pairs
    .filter(([, v]) => v)
    .map(([k, v]) => `,${escapeTagOrKey(k)}=${escapeTagOrKey(v!)}`)
    .join('');
}

/** A device's line head (`kind,device=…,gateway=…,ward=… `) with the tags it was made from. */
interface Head {
  kind: string;
  gateway: string;
  ward: string;
  text: string;
}

/**
 * Line heads per device and `name=` per field name, made once: a city's devices send reading after
 * reading with the same kind and tags, so a line is then a lookup, the numbers and one concatenation per
 * value (half the client CPU of escaping and joining the tags of every line). A head is remade when a
 * device's kind or tags changed (registry update). Both bounded like `remembered`.
 */
const heads = new Map<string, Head>();
const fieldKeys = new Map<string, string>();

function headOf(r: StoredReading): string {
  let h = heads.get(r.device);
  if (h === undefined || h.kind !== r.kind || h.gateway !== r.gateway || h.ward !== r.ward) {
    // Tags in key order (device, gateway, ward), the order the server would otherwise sort them into; empty values left out.
    let text = measurementName(r.kind);
    if (r.device) text += `,device=${escapeName(r.device)}`;
    if (r.gateway) text += `,gateway=${escapeName(r.gateway)}`;
    if (r.ward) text += `,ward=${escapeName(r.ward)}`;
    h = { kind: r.kind, gateway: r.gateway, ward: r.ward, text: `${text} ` };
    if (heads.size >= 50_000) heads.clear();
    heads.set(r.device, h);
  }
  return h.text;
}

function fieldKey(name: string): string {
  let k = fieldKeys.get(name);
  if (k === undefined) {
    k = `${escapeName(name)}=`;
    if (fieldKeys.size >= 50_000) fieldKeys.clear();
    fieldKeys.set(name, k);
  }
  return k;
}

/** Nanoseconds below the millisecond: a reading's place among readings of the same millisecond. */
const NS_PER_MS = 1_000_000;

/**
 * The point's time in ns: the reading's ms, and below it `seq mod 10^6` (derived values, seq -1: 0).
 * InfluxDB keys a point by (measurement, tag set, time), so the same (gateway, seq) lands on the same
 * point (a redelivery overwrites itself) while two readings of one device in the same millisecond with
 * different seqs (a clock stepped back) are two points. Reads ask for epoch=ms, which drops the tiebreak.
 * The limit: two readings of one device from one gateway in the same millisecond whose seqs differ by a
 * multiple of 10^6 still share a point.
 */
export function pointTime(r: StoredReading): string {
  if (!Number.isSafeInteger(r.ts) || r.ts <= 0) throw new Error(`reading ${r.kind}/${r.device}: ts ${r.ts} is not a positive integer ms`);
  const below = r.seq >= 0 ? r.seq % NS_PER_MS : 0;
  return `${r.ts}${String(below).padStart(6, '0')}`;
}

/**
 * The string field holding a reading's clock mark (protocol readingSchema `clock`), when it has one: a name no
 * value field can take (field names start with a letter).
 */
export const CLOCK_FIELD = '_clock';

/**
 * One reading as one line: measurement = kind, tags device/gateway/ward, one float field per value
 * plus `seq` as an integer and its clock mark if any (CLOCK_FIELD), time in ns from `pointTime` (write with
 * precision ns).
 */
export function readingToLine(r: StoredReading): string {
  let line = headOf(r);
  let first = true;
  const { values } = r;
  for (const name in values) {
    const v = values[name]!;
    if (!Number.isFinite(v)) throw new Error(`reading ${r.kind}/${r.device}@${r.ts}: ${name} is not finite`);
    line += first ? fieldKey(name) + v : `,${fieldKey(name)}${v}`;
    first = false;
  }
  const mark = r.clock ? `,${CLOCK_FIELD}="${r.clock}"` : '';
  return `${line}${first ? '' : ','}seq=${r.seq}i${mark} ${pointTime(r)}`;
}

/** Readings [from, to) as one /write body: lines joined by newlines, built as one string (no array of lines). */
export function readingsToBody(readings: readonly StoredReading[], from = 0, to = readings.length): string {
  let body = '';
  for (let i = from; i < to; i++) body += i === from ? readingToLine(readings[i]!) : `\n${readingToLine(readings[i]!)}`;
  return body;
}

export const DEAD_LETTER_MEASUREMENT = 'dead_letter';

/**
 * Dead letters carry no natural key, so two in the same millisecond must not overwrite each other:
 * they are written in ns precision with `uniquifier` (0…999999) added below the millisecond.
 */
export function deadLetterToLine(l: DeadLetter, uniquifier: number): string {
  const raw = l.raw.length > MAX_STRING_FIELD ? `${l.raw.slice(0, MAX_STRING_FIELD)}…[truncated]` : l.raw;
  const ns = BigInt(Math.trunc(l.ts)) * 1_000_000n + BigInt(uniquifier % 1_000_000);
  const fields = `raw=${escapeStringField(raw)},reason=${escapeStringField(l.reason)},topic=${escapeStringField(l.topic)}`;
  return `${DEAD_LETTER_MEASUREMENT}${tags([
    ['device', l.device],
    ['gateway', l.gateway],
  ])} ${fields} ${ns}`;
}
