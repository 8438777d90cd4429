import { encodeRegisters, ModbusError, registerCount, type Request } from '@tamky/modbus';
import type { BusQueue } from '../bus/bus-queue';
import { DeviceStats } from '../bus/device-stats';
import type { ModbusLink } from '../drivers/types';
import { decodeRead, deviceBlocks, findWritable, planReads, readRequestPdu, type FieldOverride, type ReadRequest } from '../profile/plan';
import type { Block, Profile } from '../profile/schema';
import { CommandError, type DeviceEvent, type FieldDevice, type PollOutcome, type ReadingValues } from './types';

export interface ModbusDeviceOptions {
  id: string;
  busId: string;
  unitId: number;
  profile: Profile;
  overrides?: Record<string, FieldOverride>;
  fields?: string[];
  pollIntervalMs: number;
  timeoutMs: number;
  now: () => number;
}

/** A Modbus slave described by its profile: reads planned once, each poll one job on the bus queue. */
export class ModbusDevice implements FieldDevice {
  readonly id: string;
  readonly busId: string;
  readonly stats: DeviceStats;
  readonly plan: ReadRequest[];
  private readonly blocks: Block[];
  private readonly publishable: Set<string>;
  private lastGateValue: number | undefined;
  private readonly lastBits = new Map<string, number>();

  constructor(
    private readonly opts: ModbusDeviceOptions,
    private readonly queue: BusQueue,
    private readonly link: ModbusLink,
  ) {
    this.id = opts.id;
    this.busId = opts.busId;
    this.stats = new DeviceStats(opts.id, opts.pollIntervalMs);
    this.blocks = deviceBlocks(opts.profile, opts.overrides, opts.fields);
    this.plan = planReads(this.blocks, opts.profile.maxGap);
    this.publishable = new Set(this.blocks.flatMap((b) => b.fields.filter((f) => f.publish).map((f) => f.name)));
  }

  poll(urgent: boolean): Promise<PollOutcome> {
    return this.queue.run(() => this.readAll(), { priority: urgent });
  }

  private async readAll(): Promise<PollOutcome> {
    const { now, unitId, timeoutMs } = this.opts;
    const ts = now();
    const values: ReadingValues = {};
    let lastException: ModbusError | undefined;
    for (const r of this.plan) {
      try {
        const res = await this.link.transact(unitId, readRequestPdu(r), timeoutMs);
        if ('registers' in res) Object.assign(values, decodeRead(r, res.registers));
        else if ('bits' in res) Object.assign(values, decodeRead(r, res.bits));
      } catch (err) {
        // An exception means the slave is alive but refuses this block: keep the other blocks.
        if (err instanceof ModbusError && err.code === 'exception') {
          lastException = err;
          this.stats.failure('exception', `${err.message} (${r.table} ${r.address}+${r.count})`, now());
          continue;
        }
        const kind = err instanceof ModbusError ? err.code : 'closed';
        return { ok: false, kind, message: (err as Error).message, ts: now() };
      }
    }
    const events = this.bitEvents(values);
    const gate = this.opts.profile.publishOnChangeOf;
    const published: ReadingValues = {};
    for (const [name, value] of Object.entries(values)) if (this.publishable.has(name)) published[name] = value;
    if (Object.keys(published).length === 0) {
      return { ok: false, kind: 'exception', message: lastException?.message ?? 'no values', ts: now() };
    }
    if (gate) {
      const key = values[gate]?.v;
      // Same interval as last time: the device answered (a successful poll) but there is nothing new.
      if (key !== undefined && key === this.lastGateValue) return { ok: true, ts, values: {}, events };
      this.lastGateValue = key;
    }
    return { ok: true, ts, values: published, events };
  }

  /** Bits that changed since the last poll; on the first poll, bits already on count as raised. */
  private bitEvents(values: ReadingValues): DeviceEvent[] {
    const out: DeviceEvent[] = [];
    for (const b of this.blocks) {
      for (const f of b.fields) {
        const value = values[f.name]?.v;
        if (!f.events || value === undefined) continue;
        const now = Math.round(value);
        const before = this.lastBits.get(f.name) ?? 0;
        this.lastBits.set(f.name, now);
        for (const e of f.events) {
          const was = (before >> e.bit) & 1;
          const is = (now >> e.bit) & 1;
          if (was !== is) out.push({ type: is ? e.type : `${e.type}_cleared`, detail: { field: f.name, bit: e.bit, value: now } });
        }
      }
    }
    return out;
  }

  async write(name: string, value: number): Promise<{ address: number; registers: number[] }> {
    const found = findWritable(this.blocks, name);
    if (!found) throw new CommandError(`field "${name}" of device "${this.id}" is not writable`, 'not_writable');
    const { field, table } = found;
    const w = field.writable!;
    if ((w.min !== undefined && value < w.min) || (w.max !== undefined && value > w.max)) {
      throw new CommandError(`value ${value} for "${name}" outside ${w.min ?? '-∞'}..${w.max ?? '∞'}`, 'out_of_range');
    }
    const address = w.address ?? field.address;
    const raw = Math.round((value - field.offset) / field.scale);
    let req: Request;
    let registers: number[];
    if (table === 'coil') {
      registers = [raw ? 1 : 0];
      req = { fc: 0x05, address, value: raw !== 0 };
    } else {
      registers = encodeRegisters(raw, field.type, field.wordOrder);
      req = registerCount(field.type) === 1 ? { fc: 0x06, address, value: registers[0]! } : { fc: 0x10, address, values: registers };
    }
    await this.queue.run(() => this.link.transact(this.opts.unitId, req, this.opts.timeoutMs), { priority: true });
    return { address, registers };
  }
}
