import { createHmac, randomBytes } from 'node:crypto';
import type { Credentials, ServiceRole } from './config';
import { verifySecret } from '@tamky/service-kit';

type Secret = { secretHash: string; disabled: boolean; secretExpiresAt?: Date };
export type Entry = ({ kind: 'gateway'; id: string } | { kind: 'service'; username: string; role: ServiceRole }) & Secret;

export type Verdict =
  { ok: true; entry: Entry } | { ok: false; reason: 'unknown-user' | 'bad-credentials' | 'disabled' | 'secret-expired' };

const expiry = (at: string | undefined) => (at ? { secretExpiresAt: new Date(at) } : {});

/**
 * The set of known gateways and services. Verified secrets are remembered as an HMAC under a per-process key
 * (never the secret itself), so a fleet reconnecting after an outage costs one scrypt per gateway, not one per
 * attempt. Replacing the credentials (reload) forgets them.
 */
export class CredentialStore {
  private entries = new Map<string, Entry>();
  private runtimeDisabled = new Set<string>();
  private verified = new Map<string, string>();
  private readonly cacheKey = randomBytes(32);

  constructor(credentials: Credentials) {
    this.replace(credentials);
  }

  replace(credentials: Credentials): void {
    const next = new Map<string, Entry>();
    for (const g of credentials.gateways)
      next.set(g.id, { kind: 'gateway', id: g.id, secretHash: g.secretHash, disabled: g.disabled, ...expiry(g.secretExpiresAt) });
    for (const s of credentials.services)
      next.set(s.username, {
        kind: 'service',
        username: s.username,
        role: s.role,
        secretHash: s.secretHash,
        disabled: s.disabled,
        ...expiry(s.secretExpiresAt),
      });
    this.entries = next;
    this.verified.clear();
  }

  /** Refuses future connects under this name until the process restarts or the name is enabled again. */
  disable(name: string): void {
    this.runtimeDisabled.add(name);
  }

  enable(name: string): void {
    this.runtimeDisabled.delete(name);
  }

  isDisabled(name: string): boolean {
    return this.runtimeDisabled.has(name) || this.entries.get(name)?.disabled === true;
  }

  lookup(name: string): Entry | undefined {
    return this.entries.get(name);
  }

  get size(): number {
    return this.entries.size;
  }

  async verify(name: string, secret: string): Promise<Verdict> {
    const entry = this.entries.get(name);
    if (!entry) {
      // Spend comparable time on unknown names so timing does not reveal which gateway ids exist.
      await verifySecret(secret, DUMMY_HASH);
      return { ok: false, reason: 'unknown-user' };
    }
    const mac = createHmac('sha256', this.cacheKey).update(entry.secretHash).update('\0').update(secret).digest('base64');
    let ok = this.verified.get(name) === mac;
    if (!ok) {
      ok = await verifySecret(secret, entry.secretHash);
      if (ok && this.entries.get(name) === entry) this.verified.set(name, mac);
    }
    if (!ok) return { ok: false, reason: 'bad-credentials' };
    if (this.isDisabled(name)) return { ok: false, reason: 'disabled' };
    if (entry.secretExpiresAt && entry.secretExpiresAt.getTime() <= Date.now()) return { ok: false, reason: 'secret-expired' };
    return { ok: true, entry };
  }
}

// A valid hash of a random secret, so the unknown-name path does the same work as a wrong password.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
