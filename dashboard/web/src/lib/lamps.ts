import type { StoredReading } from '../api/types';

/** Lamp states from a cabinet reading: status bits b0 ballast failure, b1 lamp failure (docs/register-maps.md). */
export function lampCounts(r: StoredReading, lamps: number): { on: number; dimmed: number; off: number; failed: number } {
  const out = { on: 0, dimmed: 0, off: 0, failed: 0 };
  for (let i = 1; i <= lamps; i++) {
    const status = r.values[`lamp${i}_status`] ?? 0;
    const level = r.values[`lamp${i}_level`] ?? 0;
    if (status & 0b11) out.failed++;
    else if (level <= 0) out.off++;
    else if (level < 100) out.dimmed++;
    else out.on++;
  }
  return out;
}
