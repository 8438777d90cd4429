import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** One public answer as it leaves: serialised and gzipped once per build, with its ETag. */
export interface CachedAnswer {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  /** Epoch ms after which the answer is built again. */
  expires: number;
}

export function cachedAnswer(value: unknown, expires: number): CachedAnswer {
  const body = Buffer.from(JSON.stringify(value));
  return { body, gzip: gzipSync(body), etag: `"${createHash('sha1').update(body).digest('base64url')}"`, expires };
}

/**
 * Answers per key built at most once per `ttlMs`: concurrent misses share one build, a failed build is
 * not kept, so the next request tries again.
 */
export function createAnswerCache(ttlMs: number, now: () => number, build: (key: string) => unknown) {
  const cache = new Map<string, CachedAnswer>();
  const building = new Map<string, Promise<CachedAnswer>>();
  return {
    get(key: string): CachedAnswer | Promise<CachedAnswer> {
      const hit = cache.get(key);
      if (hit && hit.expires > now()) return hit;
      let pending = building.get(key);
      if (!pending) {
        pending = Promise.resolve()
          .then(() => build(key))
          .then(
            (value) => {
              const c = cachedAnswer(value, now() + ttlMs);
              cache.set(key, c);
              building.delete(key);
              return c;
            },
            (err: unknown) => {
              building.delete(key);
              throw err;
            },
          );
        building.set(key, pending);
      }
      return pending;
    },
  };
}
