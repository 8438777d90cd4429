import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The demo has no default passwords either: every account and gateway secret is random, made on the
 * first start and kept in the data folder so that a restart (and the operator's browser) keeps working.
 */
export interface DemoCredentials {
  gateways: Record<string, string>;
  services: { ingest: string; dashboard: string };
  users: Record<'admin' | 'operator' | 'technician' | 'viewer', string>;
  kioskToken: string;
}

const secret = () => randomBytes(18).toString('base64url');

export function loadOrCreateCredentials(file: string, gatewayIds: string[]): DemoCredentials {
  const existing: Partial<DemoCredentials> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const gateways = { ...(existing.gateways ?? {}) };
  for (const id of gatewayIds) gateways[id] ??= secret();
  const creds: DemoCredentials = {
    gateways,
    services: existing.services ?? { ingest: secret(), dashboard: secret() },
    users: existing.users ?? { admin: secret(), operator: secret(), technician: secret(), viewer: secret() },
    kioskToken: existing.kioskToken ?? secret(),
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}
