import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured JSON logs, one logger per service, named so that a composed process (the demo) still
 * says which service spoke. LOG_LEVEL overrides the level; tests pass `level: 'silent'`.
 */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  return pino({
    name: service,
    level: process.env.LOG_LEVEL ?? 'info',
    redact: {
      paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'accessToken', '*.accessToken'],
      censor: '[redacted]',
    },
    ...options,
  });
}
