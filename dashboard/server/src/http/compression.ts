import { createBrotliCompress, createGzip, constants as zlibConstants, type BrotliOptions } from 'node:zlib';
import compression from 'compression';
import type { Request, RequestHandler } from 'express';

/**
 * Brotli quality 2: on a day of history it compresses as small as the library's default (4) for about half its CPU
 * (bench/dashboard).
 */
const BROTLI: BrotliOptions = { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 2 } };
/**
 * A large answer compressed whole comes out in large chunks: each chunk is a trip through libuv's thread pool and
 * back to the event loop, and megabytes in the default 16 KiB chunks spent more time in those trips than compressing.
 * Only there: the buffer is allocated per stream, and most answers are small.
 */
const LARGE_CHUNK_BYTES = 256 * 1024;

/** Every answer's compression: a day of history for a ward is megabytes of JSON; technicians read it over mobile data. */
export function compressAnswers(): RequestHandler {
  return compression({ brotli: BROTLI });
}

export type AnswerEncoding = 'br' | 'gzip';

/**
 * The encoding to send: of brotli and gzip, the one the client's Accept-Encoding weighs more (q), brotli on a tie
 * (as the compression middleware chooses: browsers send "gzip, deflate, br" and brotli is smaller); undefined when
 * it accepts neither (sent as it is).
 */
export function answerEncoding(req: Request): AnswerEncoding | undefined {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return undefined;
  const br = weightOf(header, 'br');
  const gzip = weightOf(header, 'gzip');
  if (br <= 0 && gzip <= 0) return undefined;
  return br >= gzip ? 'br' : 'gzip';
}

/** `coding`'s q in an Accept-Encoding value (RFC 9110 §12.5.3): its own entry, else "*", else 0. */
function weightOf(header: string, coding: string): number {
  let star = 0;
  for (const entry of header.split(',')) {
    const [name = '', ...params] = entry.split(';').map((x) => x.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const weight = Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 0;
    if (name === coding) return weight;
    if (name === '*') star = weight;
  }
  return star;
}

/**
 * Compresses text written piece by piece, the zlib work on the thread pool while the caller makes the next piece.
 * A large answer compressed here, whole, is sent with its length and skipped by the middleware (already encoded).
 */
export function answerCompressor(encoding: AnswerEncoding) {
  const z =
    encoding === 'br' ? createBrotliCompress({ ...BROTLI, chunkSize: LARGE_CHUNK_BYTES }) : createGzip({ chunkSize: LARGE_CHUNK_BYTES });
  const chunks: Buffer[] = [];
  z.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<Buffer>((resolve, reject) => {
    z.once('end', () => resolve(Buffer.concat(chunks)));
    z.once('error', reject);
  });
  // end() hands the failure to its caller; a caller that stopped before calling it must not leave it unhandled.
  ended.catch(() => undefined);
  return {
    write: (text: string) => void z.write(text),
    /** The whole compressed body, once every piece is through. */
    end: (): Promise<Buffer> => (z.end(), ended),
  };
}
