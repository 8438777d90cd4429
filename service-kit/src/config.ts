import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, parseConfig } from '@tamky/protocol';

const ENV_REFERENCE = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in string values with environment variables, so secrets
 * come from env files (docker-compose, systemd EnvironmentFile) and never sit in config files.
 * An unset variable without default is an error naming the file and the field.
 */
export function expandEnv(data: unknown, file: string, env: NodeJS.ProcessEnv = process.env, path = ''): unknown {
  if (typeof data === 'string') {
    return data.replace(ENV_REFERENCE, (_, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(file, `${file}: ${path || '(root)'}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(data)) return data.map((item, i) => expandEnv(item, file, env, `${path}[${i}]`));
  if (data && typeof data === 'object') {
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, expandEnv(v, file, env, path ? `${path}.${k}` : k)]));
  }
  return data;
}

/**
 * Reads a YAML (1.2, so `on`/`off`/`no` stay strings) or JSON file, expands `${ENV}` references and
 * validates it; failures throw ConfigError whose lines name the file, the field and the problem.
 */
export function loadConfigFile<T extends z.ZodType>(file: string, schema: T): z.infer<T> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `${file}: cannot read: ${(err as Error).message}`);
  }
  let data: unknown;
  const isJson = /\.(geo)?json$/.test(file);
  try {
    data = isJson ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, `${file}: not valid ${isJson ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseConfig(schema, expandEnv(data, file), file);
}
