import { BaseSimDevice } from '../sim-device';
import { soundLevel } from '../signals/noise';

/** SONBEST SM7901: holding 0 = dB(A) × 10; 0x64 model 7901, 0x66 address, 0x67 baud code (3 = 9600). */
export class NoiseMeter extends BaseSimDevice {
  define(): void {
    this.bank.define('holding', 0x0000);
    this.bank.define('holding', 0x0064, 4);
    this.bank.set('holding', 0x0064, 7901);
    this.bank.set('holding', 0x0066, this.unitId);
    this.bank.set('holding', 0x0067, 3);
  }

  protected sample(t: number): Record<string, number> {
    return { laeq: soundLevel(this.ctx, t, this.device.zone ?? 'normal', this.key % 1000) };
  }

  protected encode(v: Record<string, number>): void {
    this.put('holding', 0x0000, v.laeq! * 10);
  }
}
