import { BaseSimDevice } from '../sim-device';
import { airQuality } from '../signals/air';

/** Six-parameter station (CPN-style): holding 0x0003..0x000A, see docs/register-maps.md. */
export class AirStation extends BaseSimDevice {
  define(): void {
    this.bank.define('holding', 0x0003, 8);
  }

  protected sample(t: number): Record<string, number> {
    return { ...airQuality(this.ctx, t, this.key % 1000) };
  }

  protected encode(v: Record<string, number>): void {
    this.put('holding', 0x0003, v.so2!);
    this.put('holding', 0x0004, v.no2!);
    this.put('holding', 0x0005, v.co! / 10); // units of 10 µg/m³
    this.put('holding', 0x0006, v.o3!);
    this.put('holding', 0x0007, v.pm25!);
    this.put('holding', 0x0008, v.pm10!);
    this.put('holding', 0x0009, (v.temperature! + 40) * 100);
    this.put('holding', 0x000a, v.humidity! * 100);
  }
}
