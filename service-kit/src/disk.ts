import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

/** Free (for an unprivileged writer) and total bytes of the file system holding the file `path`; nulls when unknown. */
export function diskSpace(path: string): { free: number | null; total: number | null } {
  try {
    const s = statfsSync(dirname(path));
    return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch {
    return { free: null, total: null };
  }
}
