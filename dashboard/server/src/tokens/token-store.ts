import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { migrate } from '../state-db';

// The token's shape and scopes are the API's (protocol/src/api/tokens.ts); re-exported for the server's modules.
import type { ApiToken, TokenScope } from '@tamky/protocol';
export { TOKEN_SCOPES, type ApiToken, type TokenScope } from '@tamky/protocol';

const MIGRATIONS = [
  {
    name: 'tokens/001-init',
    sql: `
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        wards TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        last_used_at INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        rate_limit INTEGER NOT NULL
      );
    `,
  },
];

/** Token text: `tkc_<id>_<secret>`; the id finds the row, only a hash of the secret is stored. */
const TOKEN_PATTERN = /^tkc_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
// The secret is 256 random bits: a fast hash is enough (no dictionary to guess from), unlike passwords.
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

interface Row {
  id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  wards: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  uses: number;
  rate_limit: number;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  scopes: JSON.parse(r.scopes) as TokenScope[],
  wards: JSON.parse(r.wards) as string[],
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  uses: r.uses,
  rateLimit: r.rate_limit,
});

export type TokenCheck = { ok: true; token: ApiToken } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' };

export function createTokenStore(db: Database.Database, now: () => number) {
  migrate(db, MIGRATIONS);
  const byId = db.prepare('SELECT * FROM api_tokens WHERE id = ?');
  const all = db.prepare('SELECT * FROM api_tokens ORDER BY created_at DESC');
  const insert = db.prepare(
    'INSERT INTO api_tokens (id, name, secret_hash, scopes, wards, created_by, created_at, expires_at, rate_limit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const revoke = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const used = db.prepare('UPDATE api_tokens SET last_used_at = ?, uses = uses + 1 WHERE id = ?');
  return {
    /** Returns the token text once; it cannot be shown again. */
    create(input: {
      name: string;
      scopes: TokenScope[];
      wards: string[];
      expiresAt: number | null;
      rateLimit: number;
      createdBy: string;
    }): { token: ApiToken; text: string } {
      const id = randomBytes(9)
        .toString('base64url')
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '0')
        .slice(0, 12);
      const secret = randomBytes(32).toString('base64url');
      insert.run(
        id,
        input.name,
        hashSecret(secret),
        JSON.stringify(input.scopes),
        JSON.stringify(input.wards),
        input.createdBy,
        now(),
        input.expiresAt,
        input.rateLimit,
      );
      return { token: toToken(byId.get(id) as Row), text: `tkc_${id}_${secret}` };
    },
    list(): ApiToken[] {
      return (all.all() as Row[]).map(toToken);
    },
    get(id: string): ApiToken | undefined {
      const r = byId.get(id) as Row | undefined;
      return r ? toToken(r) : undefined;
    },
    revoke(id: string): boolean {
      return revoke.run(now(), id).changes > 0;
    },
    verify(text: string): TokenCheck {
      const m = TOKEN_PATTERN.exec(text);
      if (!m) return { ok: false, reason: 'malformed' };
      const row = byId.get(m[1]!) as Row | undefined;
      const given = Buffer.from(hashSecret(m[2]!), 'hex');
      // Compare even for an unknown id, so timing does not tell which ids exist.
      const stored = Buffer.from(row?.secret_hash ?? '0'.repeat(64), 'hex');
      if (!timingSafeEqual(given, stored) || !row) return { ok: false, reason: 'unknown' };
      if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
      if (row.expires_at !== null && row.expires_at <= now()) return { ok: false, reason: 'expired' };
      return { ok: true, token: toToken(row) };
    },
    markUsed(id: string): void {
      used.run(now(), id);
    },
  };
}
export type TokenStore = ReturnType<typeof createTokenStore>;
