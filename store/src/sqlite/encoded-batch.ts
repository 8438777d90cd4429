import type { ClockMark, StoredReading } from '@tamky/protocol';

/**
 * A batch of readings laid out in columns: what the SQLite store writes, and what crosses to its worker
 * thread. An array of reading objects is copied to a thread object by object (structured clone, costly per
 * reading); here the numbers travel in typed arrays whose memory is handed over, not copied, the strings
 * a batch repeats (kind, device, gateway, ward, field names) travel once each, and the values' JSON texts
 * travel as one string.
 */
export interface EncodedBatch {
  count: number;
  /** The distinct kinds, devices, gateways, wards and field names of the batch; `refs` and `fieldRefs` point here. */
  strings: string[];
  /** Per reading: kind, device, gateway, ward (indexes into `strings`). */
  refs: Int32Array;
  ts: Float64Array;
  seq: Float64Array;
  /** The readings' values as stored (`vals` column: JSON), concatenated; reading i's text ends at valsEnd[i]. */
  valsText: string;
  valsEnd: Int32Array;
  /** Reading i's fields are fieldRefs/values[fieldStart[i] .. fieldStart[i + 1]). */
  fieldStart: Int32Array;
  fieldRefs: Int32Array;
  values: Float64Array;
  /** The readings that carry a clock mark (few): [index, mark]. */
  marks: Array<[number, ClockMark]>;
}

export const REFS_PER_READING = 4;
export const KIND = 0;
export const DEVICE = 1;
export const GATEWAY = 2;
export const WARD = 3;

export function encodeBatch(readings: readonly StoredReading[]): EncodedBatch {
  const n = readings.length;
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const refs = new Int32Array(n * REFS_PER_READING);
  const ts = new Float64Array(n);
  const seq = new Float64Array(n);
  const valsEnd = new Int32Array(n);
  const fieldStart = new Int32Array(n + 1);
  let fieldCount = 0;
  for (let i = 0; i < n; i++) for (const _ in readings[i]!.values) fieldCount++;
  const fieldRefs = new Int32Array(fieldCount);
  const values = new Float64Array(fieldCount);
  const texts = new Array<string>(n);
  let chars = 0;
  let f = 0;
  const marks: Array<[number, ClockMark]> = [];
  for (let i = 0; i < n; i++) {
    const r = readings[i]!;
    if (r.clock) marks.push([i, r.clock]);
    const k = i * REFS_PER_READING;
    refs[k + KIND] = ref(r.kind);
    refs[k + DEVICE] = ref(r.device);
    refs[k + GATEWAY] = ref(r.gateway);
    refs[k + WARD] = ref(r.ward);
    ts[i] = r.ts;
    seq[i] = r.seq;
    fieldStart[i] = f;
    const vals = r.values;
    for (const field in vals) {
      fieldRefs[f] = ref(field);
      values[f] = vals[field]!;
      f++;
    }
    const text = JSON.stringify(vals);
    texts[i] = text;
    chars += text.length;
    valsEnd[i] = chars;
  }
  fieldStart[n] = f;
  return { count: n, strings, refs, ts, seq, valsText: texts.join(''), valsEnd, fieldStart, fieldRefs, values, marks };
}

/** The memory of the batch's typed arrays, for postMessage's transfer list (the sender's arrays become empty). */
export function transferables(b: EncodedBatch): ArrayBuffer[] {
  return [b.refs, b.ts, b.seq, b.valsEnd, b.fieldStart, b.fieldRefs, b.values].map((a) => a.buffer as ArrayBuffer);
}

/** Reading i's values as the JSON text stored. */
export function valsOf(b: EncodedBatch, i: number): string {
  return b.valsText.slice(i === 0 ? 0 : b.valsEnd[i - 1]!, b.valsEnd[i]!);
}
