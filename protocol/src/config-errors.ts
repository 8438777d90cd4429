import type { z } from 'zod';

/**
 * Turns a zod failure into lines that name the file, the field and the problem, e.g.
 * `config/tam-ky.yaml: devices[3].ward: unknown ward "an-my"`. Every service's config loader uses this.
 */
export function formatConfigError(file: string, error: z.ZodError): string {
  return error.issues.map((issue) => `${file}: ${formatIssuePath(issue.path) || '(root)'}: ${issue.message}`).join('\n');
}

/** A zod issue's path as people write it: `devices[3].ward`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly details: string,
  ) {
    super(`invalid configuration\n${details}`);
    this.name = 'ConfigError';
  }
}

/** Validates `data` read from `file`; throws ConfigError naming file, field and problem. */
export function parseConfig<T extends z.ZodType>(schema: T, data: unknown, file: string): z.infer<T> {
  const result = schema.safeParse(data);
  if (!result.success) throw new ConfigError(file, formatConfigError(file, result.error));
  return result.data;
}
