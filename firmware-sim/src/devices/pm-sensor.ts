import { BaseSimDevice } from '../sim-device';
import { airQuality } from '../signals/air';

/** Delta OHM PMsense: input 3/4/5 = PM1/PM2.5/PM10 × 10; holding 0/1/2 = baud code, parity code, address. */
export class PmSensor extends BaseSimDevice {
  define(): void {
    this.bank.define('input', 3, 3);
    this.bank.define('holding', 0, 3);
    this.bank.set('holding', 0, 4); // 19200
    this.bank.set('holding', 1, 2); // 8E1
    this.bank.set('holding', 2, this.unitId);
  }

  protected sample(t: number): Record<string, number> {
    const air = airQuality(this.ctx, t, this.key % 1000);
    return { pm1: air.pm25 * 0.75, pm25: air.pm25, pm10: air.pm10 };
  }

  protected encode(v: Record<string, number>): void {
    this.put('input', 3, v.pm1! * 10);
    this.put('input', 4, v.pm25! * 10);
    this.put('input', 5, v.pm10! * 10);
  }
}
