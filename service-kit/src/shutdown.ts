import type { Logger } from 'pino';

export interface Closable {
  close(): Promise<void> | void;
}

/**
 * For CLIs: on SIGINT/SIGTERM close the handles in order (stop producers before the things they write
 * to), exit 0; a second signal or a close taking longer than `timeoutMs` exits 1. Unhandled rejections
 * are logged as fatal and end the process: a service in an unknown state must not go on acking data.
 */
export function closeOnSignals(handles: Closable[], log: Logger, timeoutMs = 10_000): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    for (const h of handles) {
      try {
        await h.close();
      } catch (err) {
        log.error({ err }, 'error while closing');
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
}
