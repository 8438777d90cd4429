import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DiskSpace {
  /** Bytes an unprivileged writer may still use. */
  free: number | null;
  total: number | null;
  /** Percent used as `df` reports it: used ÷ (used + free), the root-reserved blocks left out. */
  usedPercent: number | null;
}

/** The file system holding the file `path`; nulls when it cannot be read. */
export function diskSpace(path: string): DiskSpace {
  try {
    const s = statfsSync(dirname(path));
    const used = (s.blocks - s.bfree) * s.bsize;
    const free = s.bavail * s.bsize;
    return { free, total: s.blocks * s.bsize, usedPercent: used + free > 0 ? (used / (used + free)) * 100 : null };
  } catch {
    return { free: null, total: null, usedPercent: null };
  }
}
