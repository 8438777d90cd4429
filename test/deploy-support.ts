import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Helpers shared by the tests of the docker-compose deployment (test/deploy-*.test.ts). */

export const REPO_ROOT = join(import.meta.dirname, '..');

export interface ComposeFile {
  services: Record<string, Record<string, any>>;
}
/** docker-compose.yml with its YAML merge keys applied (<<: *service), as compose reads it. */
export const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeFile;

/** The variables of `<dir>/env/<service>.env`, as deploy/scripts/init-secrets.ts writes it (NAME='value'). */
export function envFileOf(dir: string, service: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(dir, `env/${service}.env`), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 2, -1)]),
  );
}

/** An InfluxQL statement over HTTP; the error InfluxDB answered, if any. */
export async function influxql(
  url: string,
  q: string,
  auth?: { user: string; password: string },
): Promise<{ status: number; error: string | undefined }> {
  const res = await fetch(`${url}/query`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(auth ? { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` } : {}),
    },
    body: new URLSearchParams({ q }).toString(),
  });
  const body = (await res.json()) as { error?: string; results?: Array<{ error?: string }> };
  return { status: res.status, error: body.error ?? body.results?.find((r) => r.error)?.error };
}

/**
 * What the InfluxDB 1.x image's first start does with INFLUXDB_DB, _ADMIN_USER, _USER and _READ_USER
 * (init-influxdb.sh), from compose's environment for it and the secrets of deploy/env/influxdb.env.
 */
export async function initInfluxAsImage(url: string, secrets: Record<string, string>): Promise<void> {
  const env = compose.services.influxdb!.environment as Record<string, string>;
  const db = env.INFLUXDB_DB!;
  const admin = { user: env.INFLUXDB_ADMIN_USER!, password: secrets.INFLUXDB_ADMIN_PASSWORD! };
  const statements = [
    `CREATE USER "${admin.user}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`,
    `CREATE DATABASE "${db}"`,
    `CREATE USER "${env.INFLUXDB_USER}" WITH PASSWORD '${secrets.INFLUXDB_USER_PASSWORD}'`,
    `GRANT ALL ON "${db}" TO "${env.INFLUXDB_USER}"`,
    `CREATE USER "${env.INFLUXDB_READ_USER}" WITH PASSWORD '${secrets.INFLUXDB_READ_USER_PASSWORD}'`,
    `GRANT READ ON "${db}" TO "${env.INFLUXDB_READ_USER}"`,
  ];
  for (const [i, q] of statements.entries()) {
    // The first admin is created without credentials, as the image does while auth has no user yet.
    const r = await influxql(url, q, i === 0 ? undefined : admin);
    if (r.error) throw new Error(`${q}: ${r.error}`);
  }
}
