import { localTime } from '../local-time';
import { smoothNoise } from '../random';
import { BaseSimDevice } from '../sim-device';
import { CH } from '../signals/context';
import { scheduledLevel } from '../signals/lighting';

/** DALI status bits (base + 5). */
const ST = { LAMP_FAILURE: 1 << 1, POWER_ON: 1 << 2, FADE_RUNNING: 1 << 4, RESET_STATE: 1 << 5, POWER_CYCLE: 1 << 7 } as const;
/** DALI part 207 LED driver failure bits (base + 80). */
const LED_OPEN_CIRCUIT = 1 << 1;
/** Full swing in 2 s: DALI fade time setting 5 (2.0 s). */
const FADE_PCT_PER_MS = 100 / 2000;
const METER = 6500;
const MODE = 6510;
const DRIVER_LOSS = 0.08;
const DRIVER_STANDBY_W = 0.5;
const CABINET_W = 12;

interface Lamp {
  actual: number;
  /** Real time (ms) of the last fade step: a fade is a physical process, it runs in wall-clock time. */
  lastReal: number;
  status: number;
}

/**
 * A DALI lighting controller behind a Modbus gateway, plus the cabinet meter. In automatic mode the
 * astronomical clock sets the arc level command at each schedule change (sunset 100 %, 23:00 50 %,
 * sunrise 0 %); a centre command written in between holds until the next schedule change. In manual
 * mode only commands move the lamps. The actual level follows the command after a fade.
 */
export class StreetLight extends BaseSimDevice {
  private lamps: Lamp[] = [];
  private lastSchedule: number | undefined;
  private energyWh = 0;
  private inOutage = false;

  private get lampCount(): number {
    return this.device.lamps ?? 4;
  }
  private get ratedW(): number {
    return this.device.ratedPowerW ?? 100;
  }

  define(): void {
    for (let sa = 0; sa < this.lampCount; sa++) {
      // The gateway maps 100 registers per DALI short address; the ones not simulated read 0.
      this.bank.define('holding', 100 * sa, 100);
      this.bank.define('holding', 100 * sa, 1, { writable: (v) => v >= 0 && v <= 100 });
      this.lamps.push({ actual: 0, lastReal: Date.now(), status: 0 });
    }
    this.bank.define('holding', METER, 11);
    this.bank.define('holding', MODE, 1, { writable: (v) => v === 0 || v === 1 });
    // Energy counters start somewhere plausible for a cabinet in service for a few years.
    this.energyWh = 1000 * (5000 + (this.key % 20000));
  }

  protected override changing(): boolean {
    return this.lamps.some((l) => (l.status & ST.FADE_RUNNING) !== 0);
  }

  protected override onBoot(): void {
    for (const lamp of this.lamps) {
      lamp.actual = 0;
      lamp.status |= ST.RESET_STATE | ST.POWER_CYCLE;
    }
    this.lastSchedule = undefined;
  }

  protected override onWrite(table: 'holding' | 'coil', address: number): void {
    if (table !== 'holding') return;
    if (address === MODE) {
      this.lastSchedule = undefined;
      return;
    }
    const lamp = this.lamps[address / 100];
    // A command clears DALI's reset/power-cycle flags.
    if (address % 100 === 0 && lamp) lamp.status &= ~(ST.RESET_STATE | ST.POWER_CYCLE);
  }

  private failedLamps(): Set<number> {
    return new Set(this.activeFaults('lamp_failure').map(({ fault }) => (fault.lamp ?? 1) - 1));
  }

  protected sample(t: number, dtMs: number): Record<string, number> {
    if (this.bank.getHolding(MODE) === 0) {
      const target = scheduledLevel(this.ctx, t);
      if (target !== this.lastSchedule) {
        for (let sa = 0; sa < this.lampCount; sa++) this.put('holding', 100 * sa, target);
        this.lastSchedule = target;
      }
    }
    const failed = this.failedLamps();
    const outage = this.activeFaults('power_outage').length > 0;
    const stuckOn = this.activeFaults('day_burner').length > 0;
    const nowReal = Date.now();
    if (this.inOutage && !outage) this.onBoot(); // DALI drivers report the mains cycle when power returns
    this.inOutage = outage;
    let lampW = 0;
    this.lamps.forEach((lamp, sa) => {
      const command = Math.min(100, this.bank.getHolding(100 * sa));
      const dead = failed.has(sa) || outage;
      const desired = dead ? 0 : stuckOn ? 100 : command;
      const step = (nowReal - lamp.lastReal) * FADE_PCT_PER_MS;
      lamp.lastReal = nowReal;
      lamp.actual = dead ? 0 : desired > lamp.actual ? Math.min(desired, lamp.actual + step) : Math.max(desired, lamp.actual - step);
      let status = lamp.status & (ST.RESET_STATE | ST.POWER_CYCLE);
      if (failed.has(sa)) status |= ST.LAMP_FAILURE;
      if (lamp.actual > 0) status |= ST.POWER_ON;
      if (lamp.actual !== desired) status |= ST.FADE_RUNNING;
      lamp.status = status;
      lampW += failed.has(sa) ? 0 : this.ratedW * (lamp.actual / 100) * (1 + DRIVER_LOSS) + DRIVER_STANDBY_W;
    });
    const anyOn = this.lamps.some((l) => l.actual > 0);
    if (outage) return { power: 0, energy: this.energyWh / 1000, voltage: 0, current: 0, power_factor: 0 };
    const power = lampW + CABINET_W;
    this.energyWh += (power * dtMs) / 3_600_000;
    // Mains sags in the evening peak and recovers at night (distribution transformer tap at ~228 V).
    const hour = localTime(t, this.ctx.timeZone).hour;
    const voltage =
      225 +
      3 * Math.cos(((hour - 3) / 24) * 2 * Math.PI) +
      1.2 * smoothNoise(this.ctx.seed + this.key, CH.voltage, t, 10 * 60_000) -
      (anyOn ? 1 : 0);
    const powerFactor = anyOn ? 0.95 + 0.02 * smoothNoise(this.ctx.seed + this.key, CH.power, t, 30 * 60_000) : 0.55;
    return { power, energy: this.energyWh / 1000, voltage, current: power / (voltage * powerFactor), power_factor: powerFactor };
  }

  protected encode(v: Record<string, number>): void {
    const failed = this.failedLamps();
    this.lamps.forEach((lamp, sa) => {
      this.put('holding', 100 * sa + 5, lamp.status);
      this.put('holding', 100 * sa + 6, Math.round(lamp.actual));
      this.put('holding', 100 * sa + 80, failed.has(sa) ? LED_OPEN_CIRCUIT : 0);
    });
    const power = Math.round(v.power!);
    const energy = Math.round(v.energy! * 10);
    this.put('holding', METER + 0, Math.floor(power / 65536));
    this.put('holding', METER + 1, power % 65536);
    this.put('holding', METER + 2, Math.floor(energy / 65536) % 65536);
    this.put('holding', METER + 3, energy % 65536);
    this.put('holding', METER + 4, v.voltage! * 10);
    this.put('holding', METER + 5, v.current! * 100);
    this.put('holding', METER + 6, v.power_factor! * 1000);
  }

  /** For tests and the CLI: lamp levels as the registers say. */
  lampLevels(): number[] {
    return this.lamps.map((_, sa) => this.bank.getHolding(100 * sa + 6));
  }
}
