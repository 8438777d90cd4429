import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '@tamky/service-kit';
import { z } from 'zod';

/** Errors carry the contract's `{ error, message }` body: `error` is a stable code the web app can switch on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: code, message });
}

/** Parses with zod; a failure becomes 400 naming the fields. */
export function parseInput<T extends z.ZodType>(schema: T, data: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const detail = result.error.issues.map((i) => `${i.path.join('.') || where}: ${i.message}`).join('; ');
  throw new HttpError(400, 'bad_request', `invalid ${where}: ${detail}`);
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
    // body-parser errors (malformed JSON, body too large) carry a status and a type.
    const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) return sendError(res, status, err.type === 'entity.too.large' ? 'too_large' : 'bad_request', String(err.message ?? 'bad request'));
    logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    sendError(res, 500, 'internal', 'internal error');
  };
}
