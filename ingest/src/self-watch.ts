import type { SystemHealth, SystemSample } from '@tamky/protocol';
import { diskSpace } from '@tamky/service-kit';

export interface SelfWatch {
  /** A store write failed (ingest holds the acks and retries). */
  writeFailed(err: unknown): void;
  /** A batch became durable: the store writes again. */
  wrote(): void;
  /** What ingest measures of itself now, for the `system` alarm rules. */
  report(ts: number): SystemHealth;
}

/**
 * Ingest's own health as the system rules see it: the volume under the embedded store (`diskPath`; with a
 * server store such as InfluxDB there is none to see from here: its host watches its own disk), how long the
 * store has been refusing writes, and the age of the oldest message ingest holds unacknowledged.
 */
export function createSelfWatch(opts: { service: string; diskPath?: string; oldestHeldAt: () => number | undefined }): SelfWatch {
  let failingSince: number | undefined;
  let lastError = '';
  return {
    writeFailed(err) {
      failingSince ??= Date.now();
      const e = err as { code?: unknown; message?: unknown } | undefined;
      lastError = String(e?.code ?? e?.message ?? err).slice(0, 120);
    },
    wrote() {
      failingSince = undefined;
    },
    report(ts) {
      const at = Date.now();
      const samples: SystemSample[] = [];
      if (opts.diskPath) {
        const d = diskSpace(opts.diskPath);
        if (d.free !== null && d.usedPercent !== null)
          samples.push({
            check: 'disk_used_percent',
            subject: 'store',
            value: d.usedPercent,
            detail: { path: opts.diskPath, freeMb: Math.round(d.free / 1048576) },
          });
      }
      samples.push({
        check: 'store_write_failing_s',
        subject: 'store',
        value: failingSince === undefined ? 0 : Math.round((at - failingSince) / 1000),
        detail: { error: lastError || '–' },
      });
      const oldest = opts.oldestHeldAt();
      samples.push({
        check: 'ingest_lag_s',
        subject: 'acks',
        value: oldest === undefined ? 0 : Math.round((at - oldest) / 1000),
        detail: {},
      });
      return { service: opts.service, ts, samples };
    },
  };
}
