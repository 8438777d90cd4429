import { historyQuerySchema, windowForWidth, type RangeQuery } from '@tamky/protocol';
import { HttpError, parseInput } from '../http/errors';

const DAY = 86_400_000;
/** Raw points are only served for short ranges; longer ones must ask for windows (served from rollups). */
export const MAX_RAW_SPAN_MS = 7 * DAY;
export const MAX_SPAN_MS = 400 * DAY;
const MAX_WINDOWS = 100_000;

/** Query string → RangeQuery with defaults (last 24 h, mean), the window fitted to `width` and limits that keep one request from exhausting the store. */
export function parseHistoryQuery(query: unknown, now: number): RangeQuery {
  const q = parseInput(historyQuerySchema, query, 'query');
  if (!q.fields?.length) throw new HttpError(400, 'bad_request', 'fields is required (comma-separated field names)');
  const to = q.to ?? now;
  const from = q.from ?? to - DAY;
  if (from >= to) throw new HttpError(400, 'bad_request', 'from must be before to');
  const span = to - from;
  if (span > MAX_SPAN_MS) throw new HttpError(400, 'bad_request', `range too long: at most ${MAX_SPAN_MS / DAY} days`);
  // A chart's width bounds its points: the window grows until no series has more windows than pixels.
  const windowMs = q.width !== undefined ? windowForWidth(from, to, q.width, q.windowMs) : q.windowMs;
  if (windowMs === undefined && span > MAX_RAW_SPAN_MS)
    throw new HttpError(400, 'bad_request', `raw points only for up to ${MAX_RAW_SPAN_MS / DAY} days: pass windowMs`);
  if (windowMs !== undefined && span / windowMs > MAX_WINDOWS)
    throw new HttpError(400, 'bad_request', `too many windows: at most ${MAX_WINDOWS} per series`);
  const rq: RangeQuery = { kind: q.kind, fields: q.fields, from, to };
  if (windowMs !== undefined) {
    rq.windowMs = windowMs;
    rq.aggregate = q.aggregate ?? 'mean';
  }
  if (q.devices?.length) rq.devices = q.devices;
  if (q.ward) rq.ward = q.ward;
  return rq;
}
