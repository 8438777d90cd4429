import { decodeRegisters, registerCount, type Request } from '@tamky/modbus';
import type { Unit } from '@tamky/protocol';
import type { Block, Profile, RegisterField, RegisterTable } from './schema';

export interface FieldOverride {
  scale?: number;
  offset?: number;
}

/** One Modbus read covering one or more profile blocks of the same table. */
export interface ReadRequest {
  table: RegisterTable;
  address: number;
  count: number;
  fields: RegisterField[];
}

const MAX_REGISTERS = 125;
const MAX_BITS = 2000;

function isBitTable(table: RegisterTable): boolean {
  return table === 'coil' || table === 'discrete';
}

/** Applies per-device scale/offset overrides and the device's field subset to a profile's blocks. */
export function deviceBlocks(profile: Profile, overrides: Record<string, FieldOverride> = {}, only?: string[]): Block[] {
  const keep = only ? new Set(only) : undefined;
  return (profile.blocks ?? [])
    .map((b) => ({
      ...b,
      fields: b.fields.filter((f) => !keep || keep.has(f.name) || !f.publish).map((f) => ({ ...f, ...(overrides[f.name] ?? {}) })),
    }))
    .filter((b) => b.fields.length > 0);
}

/**
 * Merges blocks of the same table whose registers are contiguous or separated by at most `maxGap`
 * unused registers, as long as the request stays within 125 registers (2000 bits): fewer requests,
 * less bus time. Blocks whose fields are all control registers (publish: false) are not polled.
 */
export function planReads(blocks: Block[], maxGap: number): ReadRequest[] {
  const sorted = [...blocks].sort((a, b) => (a.table === b.table ? a.address - b.address : a.table < b.table ? -1 : 1));
  const out: ReadRequest[] = [];
  for (const b of sorted) {
    // Blocks holding only control registers are not polled; in a polled block every field is decoded
    // (a control field such as the traffic counter's interval sequence can gate publishing).
    if (!b.fields.some((f) => f.publish)) continue;
    const fields = b.fields;
    const last = out[out.length - 1];
    const limit = isBitTable(b.table) ? MAX_BITS : MAX_REGISTERS;
    if (last && last.table === b.table) {
      const lastEnd = last.address + last.count;
      const end = Math.max(lastEnd, b.address + b.count);
      if (b.address - lastEnd <= maxGap && end - last.address <= limit) {
        last.count = end - last.address;
        last.fields.push(...fields);
        continue;
      }
    }
    out.push({ table: b.table, address: b.address, count: b.count, fields: [...fields] });
  }
  return out;
}

export function readRequestPdu(r: ReadRequest): Request {
  const fc = r.table === 'coil' ? 0x01 : r.table === 'discrete' ? 0x02 : r.table === 'holding' ? 0x03 : 0x04;
  return { fc, address: r.address, count: r.count };
}

/** Rounds away binary float noise (2534 × 0.01 − 40 = −14.659999…) without losing real precision. */
export function applyScale(raw: number, scale: number, offset: number): number {
  return Number((raw * scale + offset).toPrecision(12));
}

/** Turns the registers (or bits) of one read into `{ field: { v, u } }`, leaving out "no value" fields. */
export function decodeRead(r: ReadRequest, data: number[] | boolean[]): Record<string, { v: number; u: Unit }> {
  const out: Record<string, { v: number; u: Unit }> = {};
  for (const f of r.fields) {
    const at = f.address - r.address;
    let raw: number;
    if (isBitTable(r.table)) raw = (data as boolean[])[at] ? 1 : 0;
    else raw = decodeRegisters((data as number[]).slice(at, at + registerCount(f.type)), f.type, f.wordOrder);
    if (f.noValue !== undefined && raw === f.noValue) continue;
    const v = applyScale(raw, f.scale, f.offset);
    if (!Number.isFinite(v)) continue;
    out[f.name] = { v, u: f.unit };
  }
  return out;
}

/** Finds the writable field `name` among a device's blocks. */
export function findWritable(blocks: Block[], name: string): { field: RegisterField; table: RegisterTable } | undefined {
  for (const b of blocks) {
    const field = b.fields.find((f) => f.name === name);
    if (field) return field.writable ? { field, table: b.table } : undefined;
  }
  return undefined;
}
