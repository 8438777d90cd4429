import { PROTOCOL_VERSION, type Device, type StoredReading } from '@tamky/protocol';
import { isField, isId, KIND_SPECS, type FieldSpecs } from './fast-reading';
import type { Registry } from './registry';

/** What a telemetry message scanned without rejections gives: its readings and the counts the metrics want. */
export interface ScannedMessage {
  readings: StoredReading[];
  values: number;
  newestTs: number;
}

// Character codes.
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;

/** 10^k, exact for k ≤ 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const TWO_53 = 2 ** 53;

/** Thrown inside the scanner for anything it does not take on itself; never leaves this module. */
const GIVE_UP = new Error('not for the scanner');

/**
 * The hot path of validation: reads a telemetry message straight from its text into stored readings,
 * without JSON.parse's object tree (one object per reading and per value, built only to be copied). It
 * takes only the common case, a message whose every reading and value is accepted, written as plain JSON
 * (no escapes in strings, no exponents, no extra keys, no duplicate keys); for anything else, or the
 * first value validation would reject, it answers undefined and the caller validates the message the
 * full way (JSON.parse, the reading checks, zod wording the rejections). So dead letters are unchanged,
 * and test/scan-telemetry.test.ts holds its readings equal to the full way's on good and odd messages.
 */
export function scanValidTelemetry(text: string, gateway: string, registry: Registry): ScannedMessage | undefined {
  try {
    return new Scanner(text, gateway, registry).message();
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

/**
 * Field names of a kind by first letter and length: a key in the text is matched against these (usually
 * one) without making a string of it, and the reading's values object gets the spec's own string. `order`
 * is the field sequence of the kind's last reading: a gateway lists fields the same way every time, so the
 * next key is nearly always the predicted one, checked in place.
 */
interface KindFields {
  byShape: Map<number, string[]>;
  order: string[];
}
const kindFields = new Map<FieldSpecs, KindFields>();
function fieldsOf(specs: FieldSpecs): KindFields {
  let fields = kindFields.get(specs);
  if (!fields) {
    fields = { byShape: new Map(), order: [] };
    for (const name of Object.keys(specs)) {
      if (!isField(name)) continue;
      const shape = name.charCodeAt(0) * 1024 + name.length;
      const list = fields.byShape.get(shape);
      if (list) list.push(name);
      else fields.byShape.set(shape, [name]);
    }
    kindFields.set(specs, fields);
  }
  return fields;
}

class Scanner {
  private i = 0;

  constructor(
    private readonly s: string,
    private readonly gateway: string,
    private readonly registry: Registry,
  ) {}

  message(): ScannedMessage {
    let readings: StoredReading[] | undefined;
    let version: number | undefined;
    let gatewaySeen = false;
    let values = 0;
    let newestTs = -Infinity;
    this.open(LBRACE);
    // A key seen twice goes the full way (JSON.parse keeps the last), as does any key not expected here.
    do {
      if (this.key('readings')) {
        if (readings !== undefined) throw GIVE_UP;
        readings = [];
        this.open(LBRACKET);
        do {
          const reading = this.compactReading() ?? this.reading();
          readings.push(reading);
          values += this.lastValues;
          if (reading.ts > newestTs) newestTs = reading.ts;
        } while (this.more(RBRACKET));
      } else if (this.key('v')) {
        if (version !== undefined) throw GIVE_UP;
        version = this.number();
      } else if (this.key('gateway')) {
        if (gatewaySeen) throw GIVE_UP;
        this.literal(this.gateway);
        gatewaySeen = true;
      } else throw GIVE_UP;
    } while (this.more(RBRACE));
    this.ws();
    if (this.i !== this.s.length) throw GIVE_UP;
    if (version !== PROTOCOL_VERSION || !gatewaySeen || readings === undefined || readings.length > 10_000) throw GIVE_UP;
    if (!this.registry.hasGateway(this.gateway)) throw GIVE_UP;
    return { readings, values, newestTs };
  }

  /** Values of the reading read last. */
  private lastValues = 0;

  /**
   * One reading as gateways write it: `{"device":"…","ts":…,"seq":…,"values":{"f":{"v":…,"u":"…"},…}}`
   * without blanks, matched a segment at a time (a few comparisons per reading instead of a token at a
   * time). On any other layout it steps back and answers undefined, for reading() to take the reading.
   */
  private compactReading(): StoredReading | undefined {
    const s = this.s;
    const start = this.i;
    if (!this.skip('{"device":"')) return undefined;
    const idStart = this.i;
    let c = s.charCodeAt(this.i);
    while (c !== QUOTE) {
      if (c === BACKSLASH || c < 32 || Number.isNaN(c)) throw GIVE_UP;
      c = s.charCodeAt(++this.i);
    }
    const device = this.deviceOf(s.slice(idStart, this.i));
    const specs = KIND_SPECS.get(device.kind);
    if (!specs) throw GIVE_UP;
    if (!this.skip('","ts":')) return this.back(start);
    const ts = this.integer();
    if (ts <= 0) throw GIVE_UP;
    if (!this.skip(',"seq":')) return this.back(start);
    const seq = this.integer();
    if (!this.skip(',"values":{"')) return this.back(start);
    const fields = fieldsOf(specs);
    const kept: Record<string, number> = {};
    let n = 0;
    for (;;) {
      const field = this.fieldName(fields, n);
      if (!this.skip(':{"v":')) return this.back(start);
      const v = this.number();
      if (!this.skip(',"u":"')) return this.back(start);
      const f = specs[field]!;
      if (!this.skip(f.unit) || !this.skip('"}')) return this.back(start);
      if (v < f.min || v > f.max || Object.hasOwn(kept, field)) throw GIVE_UP;
      kept[field] = v;
      n++;
      if (this.skip(',"')) continue;
      if (this.skip('}}')) break;
      return this.back(start);
    }
    this.lastValues = n;
    return { kind: device.kind, device: device.id, gateway: this.gateway, ward: device.ward, ts, seq, values: kept };
  }

  /** Past `text` when it comes next, exactly. */
  private skip(text: string): boolean {
    if (!this.matches(text, this.i)) return false;
    this.i += text.length;
    return true;
  }

  private back(to: number): undefined {
    this.i = to;
    return undefined;
  }

  /** The registry's device of this gateway with that id; any other goes the full way. */
  private deviceOf(id: string): Device {
    if (!isId(id)) throw GIVE_UP;
    const device = this.registry.device(id);
    if (!device || device.gateway !== this.gateway) throw GIVE_UP;
    return device;
  }

  /** One reading, device first (a gateway writes it so; another order goes the full way). */
  private reading(): StoredReading {
    this.open(LBRACE);
    if (!this.key('device')) throw GIVE_UP;
    const device = this.deviceOf(this.string());
    const specs = KIND_SPECS.get(device.kind);
    if (!specs) throw GIVE_UP;
    let ts: number | undefined;
    let seq: number | undefined;
    let kept: Record<string, number> | undefined;
    let n = 0;
    while (this.more(RBRACE)) {
      if (this.key('ts')) {
        if (ts !== undefined) throw GIVE_UP;
        ts = this.integer();
        if (ts <= 0) throw GIVE_UP;
      } else if (this.key('seq')) {
        if (seq !== undefined) throw GIVE_UP;
        seq = this.integer();
      } else if (this.key('values')) {
        if (kept !== undefined) throw GIVE_UP;
        kept = {};
        this.open(LBRACE);
        const fields = fieldsOf(specs);
        let j = 0;
        do {
          const field = this.fieldKey(fields, j++);
          const f = specs[field]!;
          // {"v": number, "u": "unit"}: only this order and the unit the spec wants; anything else the full way.
          this.open(LBRACE);
          if (!this.key('v')) throw GIVE_UP;
          const v = this.number();
          if (!this.more(RBRACE) || !this.key('u')) throw GIVE_UP;
          this.literal(f.unit);
          this.open(RBRACE);
          if (v < f.min || v > f.max || Object.hasOwn(kept, field)) throw GIVE_UP;
          kept[field] = v;
          n++;
        } while (this.more(RBRACE));
      } else throw GIVE_UP;
    }
    if (ts === undefined || seq === undefined || kept === undefined || n === 0) throw GIVE_UP;
    this.lastValues = n;
    // The registry's own id string, not the slice of the message: a slice of a long id would keep the whole
    // message text alive for as long as the reading waits in the pipeline.
    return { kind: device.kind, device: device.id, gateway: this.gateway, ward: device.ward, ts, seq, values: kept };
  }

  private ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++this.i);
  }

  private open(code: number): void {
    this.ws();
    if (this.s.charCodeAt(this.i) !== code) throw GIVE_UP;
    this.i++;
  }

  /** After a member: true on a comma (another follows), false on `close`. */
  private more(close: number): boolean {
    this.ws();
    const c = this.s.charCodeAt(this.i++);
    if (c === COMMA) return true;
    if (c === close) return false;
    throw GIVE_UP;
  }

  /** True, past it and its colon, when the next key is `name`; false (and nothing consumed but blanks) otherwise. */
  private key(name: string): boolean {
    this.ws();
    const s = this.s;
    const at = this.i;
    if (s.charCodeAt(at) !== QUOTE || s.charCodeAt(at + 1 + name.length) !== QUOTE || !this.matches(name, at + 1)) return false;
    this.i = at + name.length + 2;
    this.open(COLON);
    return true;
  }

  /** A field key of a reading of the kind (the `j`th), with its colon. */
  private fieldKey(fields: KindFields, j: number): string {
    this.open(QUOTE);
    const name = this.fieldName(fields, j);
    this.open(COLON);
    return name;
  }

  /**
   * The field name starting here (its opening quote read), as the spec's own string, past its closing
   * quote; any other name goes the full way. The `j`th field of the kind's last reading is tried first.
   */
  private fieldName(fields: KindFields, j: number): string {
    const s = this.s;
    const start = this.i;
    const predicted = fields.order[j];
    if (predicted !== undefined && s.charCodeAt(start + predicted.length) === QUOTE && this.matches(predicted, start)) {
      this.i = start + predicted.length + 1;
      return predicted;
    }
    let end = start;
    let c = s.charCodeAt(end);
    while (c !== QUOTE) {
      if (c === BACKSLASH || c < 32 || Number.isNaN(c)) throw GIVE_UP;
      c = s.charCodeAt(++end);
    }
    const candidates = fields.byShape.get(s.charCodeAt(start) * 1024 + (end - start));
    if (candidates === undefined) throw GIVE_UP;
    for (const name of candidates) {
      if (this.matches(name, start)) {
        this.i = end + 1;
        if (j < 64) fields.order[j] = name;
        return name;
      }
    }
    throw GIVE_UP;
  }

  /** The text at `at` starts with `name` (compared in place: names here are short). */
  private matches(name: string, at: number): boolean {
    const s = this.s;
    for (let k = 0; k < name.length; k++) if (s.charCodeAt(at + k) !== name.charCodeAt(k)) return false;
    return true;
  }

  /** A string without escapes (an escaped one is left to JSON.parse). */
  private string(): string {
    this.open(QUOTE);
    const s = this.s;
    const start = this.i;
    let c = s.charCodeAt(this.i);
    // Control characters are invalid in JSON strings, escapes are not taken here: both to the full way.
    while (c !== QUOTE) {
      if (c === BACKSLASH || c < 32 || Number.isNaN(c)) throw GIVE_UP;
      c = s.charCodeAt(++this.i);
    }
    return s.slice(start, this.i++);
  }

  /** `"text"` exactly, read without making a string; anything else goes the full way. */
  private literal(text: string): void {
    this.open(QUOTE);
    if (this.s.charCodeAt(this.i + text.length) !== QUOTE || !this.matches(text, this.i)) throw GIVE_UP;
    this.i += text.length + 1;
  }

  /** A non-negative JSON integer within the safe range. */
  private integer(): number {
    this.ws();
    const s = this.s;
    let c = s.charCodeAt(this.i);
    if (c < ZERO || c > NINE || (c === ZERO && isDigit(s.charCodeAt(this.i + 1)))) throw GIVE_UP;
    let n = 0;
    while (c >= ZERO && c <= NINE) {
      n = n * 10 + (c - ZERO);
      c = s.charCodeAt(++this.i);
    }
    if (n > Number.MAX_SAFE_INTEGER || c === DOT || c === 101 || c === 69) throw GIVE_UP;
    return n;
  }

  /**
   * A JSON number without exponent. Its value is digits / 10^fraction-digits, which is the correctly
   * rounded double (what JSON.parse gives) while the digits stay below 2^53 and the fraction within 22
   * digits: both operands are then exact and IEEE division rounds once. Longer numbers go to Number().
   */
  private number(): number {
    this.ws();
    const s = this.s;
    let c = s.charCodeAt(this.i);
    const negative = c === MINUS;
    if (negative) c = s.charCodeAt(++this.i);
    const digits = this.i;
    if (c < ZERO || c > NINE || (c === ZERO && isDigit(s.charCodeAt(this.i + 1)))) throw GIVE_UP;
    let m = 0;
    let fraction = 0;
    while (c >= ZERO && c <= NINE) {
      m = m * 10 + (c - ZERO);
      c = s.charCodeAt(++this.i);
    }
    if (c === DOT) {
      c = s.charCodeAt(++this.i);
      if (c < ZERO || c > NINE) throw GIVE_UP;
      while (c >= ZERO && c <= NINE) {
        m = m * 10 + (c - ZERO);
        fraction++;
        c = s.charCodeAt(++this.i);
      }
    }
    if (c === 101 || c === 69) throw GIVE_UP; // e, E
    const value = m < TWO_53 && fraction <= 22 ? m / POW10[fraction]! : Number(s.slice(digits, this.i));
    return negative ? -value : value;
  }
}

const isDigit = (c: number) => c >= ZERO && c <= NINE;
