import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { postJson } from './types';

export interface ZaloTokenConfig {
  tokenUrl: string;
  appId: string;
  secretKey: string;
  refreshToken: string;
  timeoutMs: number;
}

/**
 * Zalo OA access tokens (~25 h) renewed with single-use refresh tokens. Only one refresher may run:
 * in this process a shared promise, across processes a lease row in the state DB. The new pair is stored
 * in one UPDATE conditioned on the old refresh token, so a lost race can never overwrite a newer token
 * with a spent one.
 */
export function createZaloTokens(db: Database.Database, cfg: ZaloTokenConfig, now: () => number) {
  const owner = randomUUID();
  db.prepare("INSERT OR IGNORE INTO notify_tokens (provider, refresh_token, updated_at) VALUES ('zalo', ?, ?)").run(
    cfg.refreshToken,
    now(),
  );
  const read = () =>
    db
      .prepare("SELECT access_token, refresh_token, expires_at, lease_owner, lease_until FROM notify_tokens WHERE provider = 'zalo'")
      .get() as {
      access_token: string | null;
      refresh_token: string;
      expires_at: number;
      lease_owner: string | null;
      lease_until: number;
    };
  let inFlight: Promise<string> | undefined;
  let refreshes = 0;

  const takeLease = db.transaction((stale: string | null): { token?: string; lease?: string; wait?: boolean } => {
    const row = read();
    if (row.access_token && row.access_token !== stale && row.expires_at > now() + 60_000) return { token: row.access_token };
    if (row.lease_owner && row.lease_owner !== owner && row.lease_until > Date.now()) return { wait: true };
    db.prepare("UPDATE notify_tokens SET lease_owner = ?, lease_until = ? WHERE provider = 'zalo'").run(
      owner,
      Date.now() + cfg.timeoutMs + 5000,
    );
    return { lease: row.refresh_token };
  });

  async function doRefresh(stale: string | null): Promise<string> {
    for (let waited = 0; waited < cfg.timeoutMs * 2; waited += 200) {
      const step = takeLease.immediate(stale);
      if (step.token) return step.token;
      if (step.wait) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const refreshToken = step.lease!;
      refreshes++;
      const res = await postJson(
        cfg.tokenUrl,
        { app_id: cfg.appId, grant_type: 'refresh_token', refresh_token: refreshToken },
        { form: true, headers: { secret_key: cfg.secretKey }, timeoutMs: cfg.timeoutMs },
      );
      const body =
        'json' in res
          ? (res.json as
              | {
                  access_token?: string;
                  refresh_token?: string;
                  expires_in?: string | number;
                  error?: number;
                  message?: string;
                  error_description?: string;
                }
              | undefined)
          : undefined;
      if (!body?.access_token || !body.refresh_token) {
        db.prepare("UPDATE notify_tokens SET lease_owner = NULL, lease_until = 0 WHERE provider = 'zalo' AND lease_owner = ?").run(owner);
        throw new Error(`zalo token refresh failed: ${'error' in res ? res.error : JSON.stringify(body)}`);
      }
      const expiresAt = now() + Number(body.expires_in ?? 90_000) * 1000;
      const changed = db
        .prepare(
          "UPDATE notify_tokens SET access_token = ?, refresh_token = ?, expires_at = ?, lease_owner = NULL, lease_until = 0, updated_at = ? WHERE provider = 'zalo' AND refresh_token = ?",
        )
        .run(body.access_token, body.refresh_token, expiresAt, now(), refreshToken).changes;
      if (changed === 0) throw new Error('zalo refresh token changed during refresh');
      return body.access_token;
    }
    throw new Error('zalo token refresh: another process holds the lease too long');
  }

  return {
    /** A valid access token, refreshing first if there is none or it is about to expire. */
    async get(): Promise<string> {
      const row = read();
      if (row.access_token && row.expires_at > now() + 60_000) return row.access_token;
      return this.refresh(row.access_token);
    },
    /** Refresh because `stale` was rejected (−124); concurrent callers share one refresh. */
    refresh(stale: string | null): Promise<string> {
      inFlight ??= doRefresh(stale).finally(() => (inFlight = undefined));
      return inFlight;
    },
    get refreshCount() {
      return refreshes;
    },
  };
}
export type ZaloTokens = ReturnType<typeof createZaloTokens>;
