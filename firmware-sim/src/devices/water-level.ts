import { BaseSimDevice } from '../sim-device';
import { floodRise, waterLevel } from '../signals/water';
import { temperature } from '../signals/weather';

const NO_ECHO = 0xffff;

/**
 * DFRobot URM14 above a river: distance = mounting height − level, in 0.1 mm (0xFFFF = no echo, e.g.
 * water beyond 6.5 m). Holding 0x08 (control bits) is writable: bit 3 triggers a reading.
 */
export class WaterLevel extends BaseSimDevice {
  private get mountingM(): number {
    return this.device.mountingHeightM ?? 6;
  }
  private get alarms(): [number, number, number] {
    return this.device.alarmLevels ?? [2, 3, 4];
  }

  define(): void {
    this.bank.define('holding', 0x00, 8);
    this.bank.define('holding', 0x08, 1, { writable: true });
    this.bank.set('holding', 0x00, 0x0002);
    this.bank.set('holding', 0x01, 0x0010);
    this.bank.set('holding', 0x02, this.unitId);
    this.bank.set('holding', 0x03, 3);
  }

  /** Usual level: well below alarm 1, so alarms mean something. */
  private normalLevel(): number {
    return this.alarms[0] - 0.9;
  }

  protected sample(t: number): Record<string, number> {
    let level = waterLevel(this.ctx, t, this.normalLevel(), this.key % 1000);
    for (const { fault, at } of this.activeFaults('flood')) {
      const peak = Math.min(fault.peakM ?? this.alarms[2] + 0.5, this.mountingM - 0.3);
      const start = waterLevel(this.ctx, at, this.normalLevel(), this.key % 1000);
      level = Math.max(level, start + floodRise(t - at, (fault.riseMinutes ?? 5) * 60_000, peak - start));
    }
    return { level, distance: this.mountingM - level, temperature: temperature(this.ctx, t) - 2 };
  }

  protected encode(v: Record<string, number>): void {
    const raw = v.distance! * 10_000;
    const noEcho = raw < 0 || raw >= NO_ECHO || this.activeFaults('no_echo').length > 0;
    this.put('holding', 0x05, noEcho ? NO_ECHO : raw);
    const temp = Math.round(v.temperature! * 10) & 0xffff; // int16, two's complement
    this.put('holding', 0x06, temp);
    this.put('holding', 0x07, temp);
  }
}
