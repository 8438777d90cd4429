import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { InfluxDB } from '@influxdata/influxdb-client';
import type { InfluxStoreConfig } from '../config';

const gzipAsync = promisify(gzip);

export class InfluxWriteError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'InfluxWriteError';
  }
}

/**
 * Sends a body of lines (joined by newlines, built by the caller as one string) and resolves once the
 * server answered 2xx; anything else rejects. Never buffers, never retries.
 */
export type LineWriter = (body: string, precision: 'ms' | 'ns') => Promise<void>;

export function authHeaders(c: InfluxStoreConfig): Record<string, string> {
  if (c.token) return { authorization: `Token ${c.token}` };
  if (c.username !== undefined) return { authorization: `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}` };
  return {};
}

/** InfluxDB 1.x up to 1.7: POST /write?db=…&rp=…&precision=… with plain fetch (gzip-compressed body with `gzip: true`). */
export function v1Writer(c: InfluxStoreConfig): LineWriter {
  return async (text, precision) => {
    const params = new URLSearchParams({ db: c.database!, precision });
    if (c.retentionPolicy) params.set('rp', c.retentionPolicy);
    // zlib's async gzip runs on libuv's thread pool, not on the event loop.
    const body = c.gzip ? await gzipAsync(text, { level: 1 }) : text;
    let res: Response;
    try {
      res = await fetch(`${c.url.replace(/\/$/, '')}/write?${params}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8', ...(c.gzip ? { 'content-encoding': 'gzip' } : {}), ...authHeaders(c) },
        body,
        signal: AbortSignal.timeout(c.timeoutMs),
      });
    } catch (err) {
      throw new InfluxWriteError(
        `InfluxDB /write unreachable: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`,
      );
    }
    if (res.status !== 204 && res.status !== 200) {
      throw new InfluxWriteError(`InfluxDB /write answered ${res.status}: ${(await res.text()).slice(0, 500)}`, res.status);
    }
    await res.body?.cancel();
  };
}

/**
 * POST /api/v2/write through @influxdata/influxdb-client, with its batching and retry machinery
 * switched off: a fresh WriteApi per call whose buffer is larger than the call (nothing is sent in the
 * background), no flush timer, no retries, and writeFailed turning every failure into the rejection of
 * flush(). The client would otherwise keep failed lines in memory, retry later and drop them past
 * maxBufferLines, after ingest had acknowledged them.
 */
export function v2Writer(c: InfluxStoreConfig): LineWriter {
  const token = c.token ?? (c.username !== undefined ? `${c.username}:${c.password ?? ''}` : undefined);
  const client = new InfluxDB({ url: c.url, ...(token !== undefined ? { token } : {}), timeout: c.timeoutMs });
  return async (body, precision) => {
    // The body goes in as one record (the client joins records with newlines, so the bytes sent are the same).
    const api = client.getWriteApi(c.org ?? '', c.bucket!, precision, {
      batchSize: 2,
      maxBatchBytes: Number.POSITIVE_INFINITY,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 2,
      ...(c.gzip === false ? { gzipThreshold: Number.POSITIVE_INFINITY } : {}),
      writeFailed: (error: Error) => Promise.reject(toWriteError(error)),
    });
    try {
      api.writeRecord(body);
      await api.flush();
    } finally {
      api.dispose();
    }
  };
}

function toWriteError(error: Error): InfluxWriteError {
  const status = (error as { statusCode?: number }).statusCode;
  return new InfluxWriteError(`InfluxDB /api/v2/write failed${status ? ` (${status})` : ''}: ${error.message}`, status);
}
