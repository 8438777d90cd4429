import { EXCEPTION } from '@tamky/modbus';
import type { Device, DeviceKind } from '@tamky/protocol';
import type { Fault, WireBehaviour } from './faults';
import { hashString, uniform } from './random';
import { RegisterBank, type Table } from './register-bank';
import type { SignalContext } from './signals/context';

export interface CityLocation {
  lat: number;
  lon: number;
  timeZone: string;
}

export interface SimDeviceOptions {
  city: CityLocation;
  seed?: number;
  /** Simulated clock, epoch ms (default Date.now). */
  now?: () => number;
  /** Modbus unit id; default per docs/register-maps.md (air_station 255, water_level 12, others 1). */
  unitId?: number;
}

export interface SimDevice {
  id: string;
  kind: DeviceKind;
  unitId: number;
  bank: RegisterBank;
  /** The city device this simulates. */
  device: Device;
  /** Freeze a register at a raw value: the signal model must not overwrite it until unpin(). */
  pin(table: 'holding' | 'input', address: number, raw: number): void;
  unpin(table: 'holding' | 'input', address: number): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  faults(): Fault[];
  /** Advance the signal model to time t (epoch ms, simulated). */
  update(t: number): void;
  /** update(t) unless the registers were refreshed less than REFRESH_MS ago (what a read does). */
  refresh(t: number): void;
  /** The device's simulated clock. */
  now(): number;
  /** The latest measured values in engineering units (what the registers encode), for tests and SDS011. */
  readings(): Record<string, number>;
  /** How the device answers on the wire right now (faults). */
  wire(): WireBehaviour;
  /** A master's read: the registers/bits, or a Modbus exception code. */
  read(table: Table, address: number, count: number): number[] | number;
  /** A master's write: undefined when accepted, else a Modbus exception code (02 read-only/absent, 03 bad value). */
  write(table: 'holding' | 'coil', address: number, values: number[]): number | undefined;
}

export const DEFAULT_UNIT_ID: Record<DeviceKind, number> = {
  air_station: 255,
  pm_sensor: 1,
  noise_meter: 1,
  water_level: 12,
  street_light: 1,
  traffic_counter: 1,
};

/** Measurement refresh period of the simulated firmware (simulated ms). */
export const REFRESH_MS = 250;

interface ActiveFault {
  fault: Fault;
  /** Simulated time of injection. */
  at: number;
}

/**
 * What every simulated device shares: register bank, pins, faults, the update loop. A kind supplies
 * its register map (define), its signal model (sample, engineering units) and its encoding (encode).
 * Value faults act between sample and encode, so they reach the wire exactly like a sick sensor would.
 */
export abstract class BaseSimDevice implements SimDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly unitId: number;
  readonly bank = new RegisterBank();
  protected readonly ctx: SignalContext;
  /** Per-device key, so two devices of a kind do not read identical noise. */
  protected readonly key: number;
  /** Simulated time of the last power-up. */
  protected bootT: number;
  private readonly clock: () => number;
  private readonly pins = { holding: new Set<number>(), input: new Set<number>() };
  private active: ActiveFault[] = [];
  private latest: Record<string, number> = {};
  private frozen: Record<string, number> | undefined;
  private downUntilReal: number | undefined;
  private lastT: number | undefined;
  private updates = 0;

  constructor(
    readonly device: Device,
    opts: SimDeviceOptions,
  ) {
    this.id = device.id;
    this.kind = device.kind;
    this.unitId = opts.unitId ?? DEFAULT_UNIT_ID[device.kind];
    this.clock = opts.now ?? Date.now;
    this.key = hashString(device.id);
    this.ctx = { seed: opts.seed ?? 1, lat: opts.city.lat, lon: opts.city.lon, timeZone: opts.city.timeZone };
    // A device in the field has been running for a while: 1..30 days, fixed per device.
    this.bootT = this.clock() - (1 + (this.key % 30)) * 86_400_000 - (this.key % 86_400) * 1000;
  }

  /** Declares the register map; called once by createSimDevice, then an initial update. */
  abstract define(): void;
  /** Signal model: measured values in engineering units at time t. Keys starting with '_' are counters, immune to drift/noise. */
  protected abstract sample(t: number, dtMs: number): Record<string, number>;
  /** Writes measured values into registers via put(). */
  protected abstract encode(values: Record<string, number>, t: number): void;
  /** True while something moves in wall-clock time (a lamp fading), so every read must update. */
  protected changing(): boolean {
    return false;
  }
  /** After a power cycle. */
  protected onBoot(_t: number): void {}
  /** After an accepted write of one register/coil. */
  protected onWrite(_table: 'holding' | 'coil', _address: number, _value: number): void {}

  now(): number {
    return this.clock();
  }

  /** Stores a raw value unless a test pinned the register. */
  protected put(table: 'holding' | 'input', address: number, raw: number): void {
    if (this.pins[table].has(address)) return;
    this.bank.set(table, address, raw);
  }

  pin(table: 'holding' | 'input', address: number, raw: number): void {
    this.pins[table].add(address);
    this.bank.set(table, address, raw);
  }

  unpin(table: 'holding' | 'input', address: number): void {
    this.pins[table].delete(address);
    this.update(this.now());
  }

  injectFault(fault: Fault): void {
    const at = this.now();
    this.active.push({ fault, at });
    if (fault.type === 'stuck' && !this.frozen) this.frozen = { ...this.latest };
    if (fault.type === 'reboot') this.downUntilReal = Date.now() + (fault.downMs ?? 5000);
    this.update(at);
  }

  clearFaults(): void {
    this.active = [];
    this.frozen = undefined;
    if (this.downUntilReal !== undefined) this.boot(this.now());
    this.update(this.now());
  }

  faults(): Fault[] {
    return this.active.map((a) => a.fault);
  }

  protected activeFaults<T extends Fault['type']>(type: T): Array<{ fault: Extract<Fault, { type: T }>; at: number }> {
    return this.active.filter((a) => a.fault.type === type) as Array<{ fault: Extract<Fault, { type: T }>; at: number }>;
  }

  private boot(t: number): void {
    this.downUntilReal = undefined;
    this.active = this.active.filter((a) => a.fault.type !== 'reboot');
    this.bootT = t;
    this.onBoot(t);
  }

  /** Seconds since power-up (simulated). */
  protected uptimeS(t: number): number {
    return Math.max(0, Math.floor((t - this.bootT) / 1000));
  }

  /**
   * Brings registers up to date for a master's request. Like real firmware, measurements refresh at most
   * every REFRESH_MS (simulated), so a burst of polls does not recompute the signal model each time.
   */
  refresh(t: number): void {
    if (this.lastT === undefined || t < this.lastT || t - this.lastT >= REFRESH_MS || this.downUntilReal !== undefined || this.changing())
      this.update(t);
  }

  update(t: number): void {
    if (this.downUntilReal !== undefined && Date.now() >= this.downUntilReal) this.boot(t);
    const dt = this.lastT === undefined ? 0 : Math.max(0, t - this.lastT);
    this.lastT = t;
    this.updates++;
    const values = this.applyValueFaults(this.sample(t, dt), t);
    this.latest = values;
    this.encode(values, t);
  }

  private applyValueFaults(values: Record<string, number>, t: number): Record<string, number> {
    if (this.frozen && Object.keys(this.frozen).length > 0) return { ...this.frozen };
    let out = values;
    for (const { fault, at } of this.active) {
      if (fault.type === 'drift') {
        const factor = 1 + ((fault.pctPerHour ?? 10) / 100) * (Math.max(0, t - at) / 3_600_000);
        out = mapMeasured(out, (v) => v * factor);
      } else if (fault.type === 'noise') {
        const pct = (fault.pct ?? 20) / 100;
        let i = 0;
        out = mapMeasured(out, (v) => v * (1 + pct * (2 * uniform(this.ctx.seed, this.key, this.updates, i++) - 1)));
      }
    }
    return out;
  }

  readings(): Record<string, number> {
    return { ...this.latest };
  }

  wire(): WireBehaviour {
    const down = this.downUntilReal !== undefined && Date.now() < this.downUntilReal;
    const late = this.activeFaults('late_answer');
    const exception = this.activeFaults('exception')[0];
    return {
      silent: down || this.activeFaults('no_answer').length > 0,
      delayMs: late.reduce((max, f) => Math.max(max, f.fault.delayMs ?? 2000), 0),
      corruptCrc: this.activeFaults('crc_error').length > 0,
      exception: exception ? (exception.fault.code ?? EXCEPTION.SERVER_DEVICE_FAILURE) : undefined,
    };
  }

  read(table: Table, address: number, count: number): number[] | number {
    return this.bank.read(table, address, count) ?? EXCEPTION.ILLEGAL_DATA_ADDRESS;
  }

  write(table: 'holding' | 'coil', address: number, values: number[]): number | undefined {
    for (let i = 0; i < values.length; i++) {
      const a = address + i;
      if (!this.bank.has(table, a) || !this.bank.isWritable(table, a)) return EXCEPTION.ILLEGAL_DATA_ADDRESS;
      if (!this.bank.accepts(table, a, values[i]!)) return EXCEPTION.ILLEGAL_DATA_VALUE;
    }
    values.forEach((v, i) => {
      this.bank.set(table, address + i, v);
      this.onWrite(table, address + i, v);
    });
    return undefined;
  }
}

function mapMeasured(values: Record<string, number>, f: (v: number) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) out[k] = k.startsWith('_') ? v : f(v);
  return out;
}
