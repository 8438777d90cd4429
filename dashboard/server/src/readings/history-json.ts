import type { Request, Response } from 'express';
import { columnsToSeries, type ColumnSeries } from '@tamky/protocol';
import { answerCompressor, answerEncoding } from '../http/compression';

/** Series per written piece: large enough that a piece is worth a compressor call, small enough to overlap. */
const SERIES_PER_PIECE = 8;

/**
 * `{"series":[...],"windowMs":…}` of the history answer (historyAnswerSchema) in pieces, written from columns a few
 * series at a time: each series' points live only while they are stringified, instead of every point of the answer
 * as an array at once (keeping those alive was most of the CPU of a large answer). The pieces joined are
 * JSON.stringify's text of the same answer.
 */
export function* historyAnswerPieces(columns: ColumnSeries[], windowMs?: number, seriesPerPiece = SERIES_PER_PIECE): Generator<string> {
  let open = '{"series":[';
  for (let i = 0; i < columns.length; i += seriesPerPiece) {
    const series = columns.slice(i, i + seriesPerPiece).map((c) => JSON.stringify(columnsToSeries(c)));
    yield `${open}${i === 0 ? '' : ','}${series.join(',')}`;
    open = '';
  }
  yield `${open}]${windowMs === undefined ? '' : `,"windowMs":${JSON.stringify(windowMs)}`}}`;
}

/** The whole answer as one string (historyAnswerPieces joined). */
export function historyAnswerJson(columns: ColumnSeries[], windowMs?: number): string {
  return [...historyAnswerPieces(columns, windowMs)].join('');
}

/**
 * Sends the answer: compressed here when the client accepts it, piece by piece, so the next series are encoded on
 * the event loop while the thread pool compresses the previous ones; sent whole with its length. Through the
 * compression middleware the same answer took several times as long: small output chunks, each a round trip to
 * the event loop, and backpressure between the two.
 */
export async function sendHistoryAnswer(req: Request, res: Response, columns: ColumnSeries[], windowMs?: number): Promise<void> {
  res.type('json');
  res.vary('Accept-Encoding');
  const encoding = answerEncoding(req);
  if (!encoding) {
    res.send(historyAnswerJson(columns, windowMs));
    return;
  }
  const compressor = answerCompressor(encoding);
  for (const piece of historyAnswerPieces(columns, windowMs)) {
    compressor.write(piece);
    // A turn of the event loop: the pool's finished chunks are taken and the next started (without it, the whole
    // answer was compressed after the last piece instead of alongside), and other requests are served meanwhile.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (res.destroyed) break; // the client went away: finish quietly, send nothing
  }
  const body = await compressor.end();
  if (res.destroyed) return;
  res.setHeader('Content-Encoding', encoding); // the compression middleware leaves an encoded answer alone
  res.setHeader('Content-Length', body.length);
  res.end(body);
}
