import { parentPort, workerData } from 'node:worker_threads';
import type { ColumnSeries } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { SqliteStoreConfig } from '../config';
import { SqliteStore } from './sqlite-store';

/**
 * The worker side of SqliteWorkerStore: one SqliteStore, driven by messages `{ id, op, args }`, answering
 * `{ id, ok, value | error }` after each call completed (for writes: after COMMIT, so "durable" means the
 * same as inline). Log calls are forwarded to the parent's logger.
 */
export type StoreOp =
  | 'writeEncoded'
  | 'writeDeadLetters'
  | 'query'
  | 'queryColumns'
  | 'latest'
  | 'deadLetters'
  | 'sequences'
  | 'applyRetention'
  | 'compact'
  | 'close';
export interface StoreRequest {
  id: number;
  op: StoreOp;
  args: unknown[];
}
export type StoreReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string } }
  | { log: string; obj: unknown; msg?: string }
  | { ready: true }
  | { failed: { message: string } };

const port = parentPort!;
const forward =
  (level: string) =>
  (obj: unknown, msg?: string): void =>
    port.postMessage({
      log: level,
      obj: obj instanceof Error ? { err: { message: obj.message, stack: obj.stack } } : obj,
      msg,
    } satisfies StoreReply);
const logger = {
  info: forward('info'),
  warn: forward('warn'),
  error: forward('error'),
  debug: forward('debug'),
  isLevelEnabled: () => true,
} as unknown as Logger;

let store: SqliteStore;
try {
  store = new SqliteStore(workerData as SqliteStoreConfig, { logger });
  port.postMessage({ ready: true } satisfies StoreReply);
} catch (err) {
  port.postMessage({ failed: { message: (err as Error).message } } satisfies StoreReply);
  process.exit(1);
}

port.on('message', (req: StoreRequest) => {
  void (async () => {
    try {
      const s = store as unknown as Record<StoreOp, (...a: unknown[]) => unknown>;
      const value = await s[req.op]!.apply(store, req.args);
      // Columns are moved, not copied: the caller's thread owns them from here.
      const transfer =
        req.op === 'queryColumns'
          ? (value as ColumnSeries[]).flatMap((c) => [c.ts.buffer as ArrayBuffer, c.values.buffer as ArrayBuffer])
          : [];
      port.postMessage({ id: req.id, ok: true, value } satisfies StoreReply, transfer);
    } catch (err) {
      const e = err as Error;
      port.postMessage({
        id: req.id,
        ok: false,
        error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) },
      } satisfies StoreReply);
    }
  })();
});
