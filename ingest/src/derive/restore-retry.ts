import type { TimeSeriesStore } from '@tamky/protocol';
import { backoffDelay, type Logger } from '@tamky/service-kit';
import type { Deriver } from './deriver';

/**
 * Rebuilds the deriver's state from the store at start (bounded: a dead store must not hold up the start);
 * devices whose history the store would not give yet are retried in the background while readings flow.
 */
export async function restoreDerivedState(
  deriver: Deriver,
  store: TimeSeriesStore,
  now: () => number,
  log: Logger,
): Promise<{ stop(): void }> {
  const onError = (err: unknown, what: { kind: string; devices: number; attempt: number }) =>
    log.warn({ err, ...what }, 'reading history for derived values failed');
  const first = await deriver.restore(store, now(), { onError, deadline: Date.now() + 30_000 });
  log.info({ restored: first.restored, unrestored: first.unrestored.length }, 'derived state rebuilt from the store');
  let unrestored = first.unrestored;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const retry = (attempt: number) => {
    timer = setTimeout(
      () => {
        deriver.restore(store, now(), { devices: unrestored, attempts: 1, onError }).then(
          (r) => {
            unrestored = r.unrestored;
            log.info({ restored: r.restored, unrestored: unrestored.length }, 'derived state: history restored late');
            if (unrestored.length > 0 && !stopped) retry(attempt + 1);
          },
          (err: unknown) => log.error({ err }, 'derived state retry failed'),
        );
      },
      backoffDelay(attempt, 5_000, 60_000),
    );
  };
  if (unrestored.length > 0) {
    log.error({ devices: unrestored.length }, 'derived values start without their history for some devices; retrying in the background');
    retry(0);
  }
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
