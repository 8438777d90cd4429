import type { Response } from 'express';
import { columnsToSeries, type ColumnSeries } from '@tamky/protocol';

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
 * Sends the answer piece by piece, giving the event loop a turn between pieces: the compression middleware's
 * zlib work runs on libuv's thread pool, so the next series are encoded while the previous ones are compressed
 * (one string sent at the end made the two wait for each other). Stops if the client went away.
 */
export async function sendHistoryAnswer(res: Response, columns: ColumnSeries[], windowMs?: number): Promise<void> {
  res.type('json');
  for (const piece of historyAnswerPieces(columns, windowMs)) {
    if (res.destroyed) return;
    if (!res.write(piece)) await new Promise<void>((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
  res.end();
}
