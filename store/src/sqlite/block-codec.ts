import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** A reading as a block holds it: one device's, so kind and device are the block's. */
export interface BlockRow {
  ts: number;
  gateway: string;
  ward: string;
  seq: number;
  /** Fields in the order they were written (the JSON text of the values is rebuilt in that order). */
  values: Record<string, number>;
}

const FORMAT = 1;
/** Column codecs: a decimal column stores integers m with value m / 10^scale, exactly; a raw column float64s. */
const RAW = 255;
const MAX_SCALE = 12;
/** Below 2^50 every delta and its zigzag stay exact doubles. */
const SAFE = 2 ** 50;

/**
 * Whether a row can go into a block: integer ts and seq within the range the codec keeps exact. Anything else
 * (never seen from a gateway) stays a hot row.
 */
export function blockable(ts: number, seq: number): boolean {
  return Number.isSafeInteger(ts) && Math.abs(ts) < SAFE && Number.isSafeInteger(seq) && seq >= 0 && seq < SAFE;
}

class Writer {
  private buf = new Uint8Array(1024);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Unsigned integer < 2^53, 7 bits a byte (arithmetic, not bit operators: those stop at 32 bits). */
  uint(v: number): void {
    this.room(8);
    while (v >= 128) {
      this.buf[this.length++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  int(v: number): void {
    this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  float(v: number): void {
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.length, 8).setFloat64(0, v, true);
    this.length += 8;
  }

  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.uint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

class Reader {
  private at = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  uint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.at >= this.buf.length) throw new Error('block truncated');
      const b = this.buf[this.at++]!;
      v += (b & 127) * mul;
      if (b < 128) return v;
      mul *= 128;
    }
  }

  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  float(): number {
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }

  string(): string {
    const n = this.uint();
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.at, n).toString('utf8');
    this.at += n;
    return s;
  }
}

const POW10 = Array.from({ length: MAX_SCALE + 1 }, (_, k) => 10 ** k);
const fromDecimal = (m: number, scale: number): number => (scale === 0 ? m : m / POW10[scale]!);

/** The smallest scale at which every value is m / 10^scale exactly (m a safe integer, no -0), or RAW. */
function decimalScale(values: number[]): number {
  for (let scale = 0; scale <= MAX_SCALE; scale++) {
    let ok = true;
    for (const v of values) {
      const m = Math.round(v * POW10[scale]!);
      if (!(Math.abs(m) < SAFE) || Object.is(m, -0) || !Object.is(fromDecimal(m, scale), v)) {
        ok = false;
        break;
      }
    }
    if (ok) return scale;
  }
  return RAW;
}

/** Run-length pairs (count, id) of a column of small ids (gateway, ward, field list per row). */
function writeRuns(w: Writer, ids: number[]): void {
  let runs = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[i - 1]) runs++;
  w.uint(runs);
  for (let i = 0; i < ids.length;) {
    let j = i + 1;
    while (j < ids.length && ids[j] === ids[i]) j++;
    w.uint(j - i);
    w.uint(ids[i]!);
    i = j;
  }
}

function readRuns(r: Reader, n: number): number[] {
  const out: number[] = [];
  const runs = r.uint();
  for (let k = 0; k < runs; k++) {
    const count = r.uint();
    const id = r.uint();
    for (let c = 0; c < count; c++) out.push(id);
  }
  if (out.length !== n) throw new Error('block corrupt: run lengths');
  return out;
}

/** Delta of delta: regular intervals (timestamps, a gateway's seqs for one device) cost a zero each. */
function writeDeltaOfDelta(w: Writer, xs: number[]): void {
  let prev = 0;
  let prevDelta = 0;
  for (const x of xs) {
    const delta = x - prev;
    w.int(delta - prevDelta);
    prevDelta = delta;
    prev = x;
  }
}

function readDeltaOfDelta(r: Reader, n: number): number[] {
  const out = new Array<number>(n);
  let prev = 0;
  let delta = 0;
  for (let i = 0; i < n; i++) {
    delta += r.int();
    prev += delta;
    out[i] = prev;
  }
  return out;
}

/**
 * One device's readings as one compressed block, columns side by side: timestamps and seqs as delta of delta,
 * gateways, wards and field lists as run-length ids into a string table, each field's values as a column of
 * decimal mantissas (delta coded, when every value of the column is exactly m / 10^k) or raw float64s, all
 * deflated. Decoding gives back every value bit for bit. `rows` sorted by ts (then gateway, seq).
 */
export function encodeBlock(rows: readonly BlockRow[]): Buffer {
  const w = new Writer();
  const strings: string[] = [];
  const stringIds = new Map<string, number>();
  const id = (s: string): number => {
    let i = stringIds.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIds.set(s, i);
    }
    return i;
  };
  const layouts: number[][] = [];
  const layoutIds = new Map<string, number>();
  const gatewayCol: number[] = [];
  const wardCol: number[] = [];
  const layoutCol: number[] = [];
  /** Per field name id: its values in row order. */
  const columns = new Map<number, number[]>();
  for (const row of rows) {
    gatewayCol.push(id(row.gateway));
    wardCol.push(id(row.ward));
    const fields: number[] = [];
    for (const field in row.values) {
      const f = id(field);
      fields.push(f);
      let col = columns.get(f);
      if (!col) columns.set(f, (col = []));
      col.push(row.values[field]!);
    }
    const key = fields.join(',');
    let l = layoutIds.get(key);
    if (l === undefined) {
      l = layouts.length;
      layouts.push(fields);
      layoutIds.set(key, l);
    }
    layoutCol.push(l);
  }
  w.uint(FORMAT);
  w.uint(rows.length);
  w.uint(strings.length);
  for (const s of strings) w.string(s);
  w.uint(layouts.length);
  for (const fields of layouts) {
    w.uint(fields.length);
    for (const f of fields) w.uint(f);
  }
  writeDeltaOfDelta(
    w,
    rows.map((r) => r.ts),
  );
  writeDeltaOfDelta(
    w,
    rows.map((r) => r.seq),
  );
  writeRuns(w, gatewayCol);
  writeRuns(w, wardCol);
  writeRuns(w, layoutCol);
  // Columns in the order of first appearance of their field: the decoder meets them in the same order.
  for (const [, values] of columns) {
    const scale = decimalScale(values);
    w.uint(scale);
    if (scale === RAW) for (const v of values) w.float(v);
    else {
      let prev = 0;
      for (const v of values) {
        const m = Math.round(v * POW10[scale]!);
        w.int(m - prev);
        prev = m;
      }
    }
  }
  return deflateRawSync(w.bytes());
}

/** Who produced each reading of a block and when, without its values (loss checks read only these). */
export function decodeIdentities(data: Uint8Array): Array<{ ts: number; gateway: string; seq: number }> {
  const r = new Reader(inflateRawSync(data));
  const format = r.uint();
  if (format !== FORMAT) throw new Error(`block format ${format} unknown`);
  const n = r.uint();
  const strings = Array.from({ length: r.uint() }, () => r.string());
  const layouts = r.uint();
  for (let l = 0; l < layouts; l++) for (let f = r.uint(); f > 0; f--) r.uint();
  const ts = readDeltaOfDelta(r, n);
  const seq = readDeltaOfDelta(r, n);
  const gateways = readRuns(r, n);
  return ts.map((t, i) => ({ ts: t, seq: seq[i]!, gateway: strings[gateways[i]!]! }));
}

export function decodeBlock(data: Uint8Array): BlockRow[] {
  const r = new Reader(inflateRawSync(data));
  const format = r.uint();
  if (format !== FORMAT) throw new Error(`block format ${format} unknown`);
  const n = r.uint();
  const strings = Array.from({ length: r.uint() }, () => r.string());
  const layouts = Array.from({ length: r.uint() }, () => Array.from({ length: r.uint() }, () => r.uint()));
  const ts = readDeltaOfDelta(r, n);
  const seq = readDeltaOfDelta(r, n);
  const gateways = readRuns(r, n);
  const wards = readRuns(r, n);
  const layoutCol = readRuns(r, n);
  // Field ids in order of first appearance, with how many values each column holds.
  const order: number[] = [];
  const counts = new Map<number, number>();
  for (const l of layoutCol)
    for (const f of layouts[l]!) {
      const c = counts.get(f);
      if (c === undefined) order.push(f);
      counts.set(f, (c ?? 0) + 1);
    }
  const columns = new Map<number, number[]>();
  for (const f of order) {
    const count = counts.get(f)!;
    const scale = r.uint();
    const values = new Array<number>(count);
    if (scale === RAW) for (let i = 0; i < count; i++) values[i] = r.float();
    else {
      let m = 0;
      for (let i = 0; i < count; i++) {
        m += r.int();
        values[i] = fromDecimal(m, scale);
      }
    }
    columns.set(f, values);
  }
  const next = new Map<number, number>();
  const rows = new Array<BlockRow>(n);
  for (let i = 0; i < n; i++) {
    const values: Record<string, number> = {};
    for (const f of layouts[layoutCol[i]!]!) {
      const k = next.get(f) ?? 0;
      next.set(f, k + 1);
      const name = strings[f]!;
      const v = columns.get(f)![k]!;
      // As JSON.parse does: an own property even for the one name plain assignment would treat as the prototype.
      if (name === '__proto__') Object.defineProperty(values, name, { value: v, enumerable: true, writable: true, configurable: true });
      else values[name] = v;
    }
    rows[i] = { ts: ts[i]!, seq: seq[i]!, gateway: strings[gateways[i]!]!, ward: strings[wards[i]!]!, values };
  }
  return rows;
}
