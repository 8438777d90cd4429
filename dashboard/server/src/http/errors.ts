import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '@tamky/service-kit';
import type { z } from 'zod';

/** Errors carry the contract's `{ error, message }` body: `error` is a stable code the web app can switch on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields of the answer, e.g. `issues: [{path, message}]` for an editor to show next to its fields. */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** One problem at a path an editor can show next to its field (e.g. "devices.3.gateway", "recipients.0.phone"). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** 400 listing the field issues (`issues` in the answer), so the editor shows each message next to its field. */
export class InvalidInputError extends HttpError {
  constructor(
    code: string,
    readonly issues: FieldIssue[],
  ) {
    super(400, code, `invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
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
    if (err instanceof HttpError) return void res.status(err.status).json({ ...err.extra, error: err.code, message: err.message });
    // body-parser errors (malformed JSON, body too large) carry a status and a type.
    const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500)
      return sendError(res, status, err.type === 'entity.too.large' ? 'too_large' : 'bad_request', String(err.message ?? 'bad request'));
    logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    sendError(res, 500, 'internal', 'internal error');
  };
}
