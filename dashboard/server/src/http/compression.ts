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

/** Brotli whenever the client accepts it at all (browsers do), else gzip, else undefined: sent as it is. */
export function answerEncoding(req: Request): AnswerEncoding | undefined {
  // Asked one at a time: given a list, the client's order wins ("gzip, deflate, br" would pick gzip).
  return req.acceptsEncodings('br') === 'br' ? 'br' : req.acceptsEncodings('gzip') === 'gzip' ? 'gzip' : undefined;
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
