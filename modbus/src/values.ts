/**
 * Register ↔ number conversion for the data types device profiles declare. Multi-register types
 * take a word order because vendors disagree: 'big' is high word first (Modbus convention),
 * 'little' is low word first ("word-swapped").
 */
export type RegisterType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type WordOrder = 'big' | 'little';

export function registerCount(type: RegisterType): number {
  return type === 'int16' || type === 'uint16' ? 1 : 2;
}

export function decodeRegisters(regs: number[], type: RegisterType, wordOrder: WordOrder = 'big'): number {
  const b = Buffer.alloc(4);
  if (type === 'int16' || type === 'uint16') {
    b.writeUInt16BE(regs[0]! & 0xffff, 0);
    return type === 'int16' ? b.readInt16BE(0) : b.readUInt16BE(0);
  }
  const [hi, lo] = wordOrder === 'big' ? [regs[0]!, regs[1]!] : [regs[1]!, regs[0]!];
  b.writeUInt16BE(hi & 0xffff, 0);
  b.writeUInt16BE(lo & 0xffff, 2);
  if (type === 'int32') return b.readInt32BE(0);
  if (type === 'uint32') return b.readUInt32BE(0);
  return b.readFloatBE(0);
}

export function encodeRegisters(value: number, type: RegisterType, wordOrder: WordOrder = 'big'): number[] {
  const b = Buffer.alloc(4);
  switch (type) {
    case 'int16':
      b.writeInt16BE(Math.round(value), 0);
      return [b.readUInt16BE(0)];
    case 'uint16':
      b.writeUInt16BE(Math.round(value), 0);
      return [b.readUInt16BE(0)];
    case 'int32':
      b.writeInt32BE(Math.round(value), 0);
      break;
    case 'uint32':
      b.writeUInt32BE(Math.round(value), 0);
      break;
    case 'float32':
      b.writeFloatBE(value, 0);
      break;
  }
  const hi = b.readUInt16BE(0);
  const lo = b.readUInt16BE(2);
  return wordOrder === 'big' ? [hi, lo] : [lo, hi];
}
