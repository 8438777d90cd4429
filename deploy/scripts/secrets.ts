import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { credentialsSchema, type Credentials } from '@tamky/broker';

/** 24 random bytes, URL-safe: long enough for scrypt-hashed MQTT secrets and tokens. */
export const randomSecret = () => randomBytes(24).toString('base64url');

/** Writes through a temp file and a rename, so a crash never leaves half a secrets file. */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

export function readCredentials(file: string): Credentials {
  if (!existsSync(file)) return { gateways: [], services: [] };
  return credentialsSchema.parse(parse(readFileSync(file, 'utf8')) ?? {});
}

export function writeCredentials(file: string, credentials: Credentials): void {
  writeFileAtomic(
    file,
    `# Broker credentials: scrypt hashes only. Written by deploy/scripts; reload with SIGHUP to the broker.\n${stringify(credentials)}`,
  );
}
