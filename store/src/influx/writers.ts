import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

/**
 * POSTs through node:http(s) on keep-alive connections and answers the status, with the body of an answer that is
 * not a success. Not fetch: undici copies a body twice more on its way out (it streams it as a web stream), a
 * measurable share of ingest's CPU per reading into InfluxDB (bench/ingest/RESULTS.md). Connection errors and
 * `timeoutMs` without a byte from the server reject.
 */
function httpPoster(
  base: string,
  timeoutMs: number,
): (pathAndQuery: string, headers: Record<string, string>, body: Buffer) => Promise<{ status: number; text: string }> {
  const secure = new URL(base).protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const root = base.replace(/\/$/, '');
  return (pathAndQuery, headers, body) =>
    new Promise((resolve, reject) => {
      const req = send(
        `${root}${pathAndQuery}`,
        { method: 'POST', agent, timeout: timeoutMs, headers: { ...headers, 'content-length': String(body.length) } },
        (res) => {
          const status = res.statusCode ?? 0;
          const failed = status !== 204 && status !== 200;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => failed && chunks.push(chunk));
          res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
}

/** InfluxDB 1.x up to 1.7: POST /write?db=…&rp=…&precision=… (gzip-compressed body with `gzip: true`). */
export function v1Writer(c: InfluxStoreConfig): LineWriter {
  const post = httpPoster(c.url, c.timeoutMs);
  const headers = { 'content-type': 'text/plain; charset=utf-8', ...(c.gzip ? { 'content-encoding': 'gzip' } : {}), ...authHeaders(c) };
  return async (text, precision) => {
    const params = new URLSearchParams({ db: c.database!, precision });
    if (c.retentionPolicy) params.set('rp', c.retentionPolicy);
    // zlib's async gzip runs on libuv's thread pool, not on the event loop.
    const body = c.gzip ? await gzipAsync(text, { level: 1 }) : Buffer.from(text, 'utf8');
    let answer: { status: number; text: string };
    try {
      answer = await post(`/write?${params}`, headers, body);
    } catch (err) {
      throw new InfluxWriteError(`InfluxDB /write unreachable: ${(err as Error).message}`);
    }
    if (answer.status !== 204 && answer.status !== 200)
      throw new InfluxWriteError(`InfluxDB /write answered ${answer.status}: ${answer.text.slice(0, 500)}`, answer.status);
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
