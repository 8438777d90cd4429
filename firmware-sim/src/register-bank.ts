/**
 * The memory of one Modbus device: four tables of 16-bit registers / bits. Only addresses a device
 * declares exist; reading anything else answers exception 02 like a real device. Holding registers
 * can be declared writable with a validity check (an out-of-range value answers exception 03).
 */
export type Table = 'holding' | 'input' | 'coil' | 'discrete';

type Validator = (value: number) => boolean;

export class RegisterBank {
  private readonly tables: Record<Table, Map<number, number>> = {
    holding: new Map(),
    input: new Map(),
    coil: new Map(),
    discrete: new Map(),
  };
  private readonly writable: Record<'holding' | 'coil', Map<number, Validator>> = { holding: new Map(), coil: new Map() };

  /** Declares `count` addresses from `from` (value 0 unless already set). */
  define(table: Table, from: number, count = 1, opts: { writable?: boolean | Validator } = {}): this {
    for (let a = from; a < from + count; a++) {
      if (!this.tables[table].has(a)) this.tables[table].set(a, 0);
      if (opts.writable && (table === 'holding' || table === 'coil')) {
        this.writable[table].set(a, typeof opts.writable === 'function' ? opts.writable : () => true);
      }
    }
    return this;
  }

  has(table: Table, address: number): boolean {
    return this.tables[table].has(address);
  }

  get(table: Table, address: number): number {
    return this.tables[table].get(address) ?? 0;
  }

  /** Stores a value (declaring the address if needed); registers are clamped to 0..65535, bits to 0/1. */
  set(table: Table, address: number, value: number): void {
    const v = table === 'coil' || table === 'discrete' ? (value ? 1 : 0) : Math.min(0xffff, Math.max(0, Math.round(value)));
    this.tables[table].set(address, v);
  }

  isWritable(table: 'holding' | 'coil', address: number): boolean {
    return this.writable[table].has(address);
  }

  accepts(table: 'holding' | 'coil', address: number, value: number): boolean {
    const check = this.writable[table].get(address);
    return check ? check(value) : false;
  }

  /** A contiguous read, or undefined if any address in the range does not exist. */
  read(table: Table, address: number, count: number): number[] | undefined {
    const out: number[] = [];
    for (let a = address; a < address + count; a++) {
      const v = this.tables[table].get(a);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  }

  getHolding(a: number): number {
    return this.get('holding', a);
  }
  setHolding(a: number, v: number): void {
    this.set('holding', a, v);
  }
  getInput(a: number): number {
    return this.get('input', a);
  }
  setInput(a: number, v: number): void {
    this.set('input', a, v);
  }
  getCoil(a: number): boolean {
    return this.get('coil', a) === 1;
  }
  setCoil(a: number, v: boolean): void {
    this.set('coil', a, v ? 1 : 0);
  }
  getDiscrete(a: number): boolean {
    return this.get('discrete', a) === 1;
  }
  setDiscrete(a: number, v: boolean): void {
    this.set('discrete', a, v ? 1 : 0);
  }
}
