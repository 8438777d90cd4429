import { Readable } from 'node:stream';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';
import MQEmitterRedis from 'mqemitter-redis';
import type { ResolvedBrokerConfig } from './config';

/** ioredis options from a redis:// URL (db from the path, credentials from the userinfo). */
export function redisOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number.isInteger(db) ? db : 0,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // Keep retrying: a broker must ride out a Redis restart, not die with it.
    maxRetriesPerRequest: null,
  };
}

/**
 * aedes-persistence-redis 12 returns async generators where aedes 1.2's SUBSCRIBE handler calls `.pipe()` on
 * the retained-message stream (the memory persistence returns Readables), so retained messages would crash
 * the broker. Wrapping them in Readable.from() restores the shape aedes expects.
 */
class RedisPersistence extends AsyncRedisPersistence {
  createRetainedStreamCombi(patterns: string[]): Readable {
    const source = (
      AsyncRedisPersistence.prototype as unknown as { createRetainedStreamCombi(p: string[]): AsyncIterable<unknown> }
    ).createRetainedStreamCombi.call(this, patterns);
    return source instanceof Readable ? source : Readable.from(source);
  }

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }
}

export interface SharedState {
  persistence?: unknown;
  mq?: unknown;
  /** Where sessions live, for logs. */
  describe: string;
  close(): Promise<void>;
}

/**
 * Memory persistence (aedes' default) for development; Redis when sessions must survive a restart, and for
 * cluster mode, where mqemitter-redis carries messages between nodes and every node sees the same sessions.
 */
export function createSharedState(config: ResolvedBrokerConfig): SharedState {
  const persistenceUrl = config.persistence.type === 'redis' ? config.persistence.url : config.cluster?.redisUrl;
  const persistence = persistenceUrl
    ? new RedisPersistence({ ...redisOptions(persistenceUrl), maxSessionDelivery: config.limits.maxOfflineMessages })
    : undefined;
  const mq = config.cluster
    ? new (MQEmitterRedis as unknown as new (o: object) => { close(cb: () => void): void })({
        ...redisOptions(config.cluster.redisUrl),
        concurrency: 100,
        matchEmptyLevels: true,
      })
    : undefined;
  return {
    persistence,
    mq,
    describe: persistenceUrl ? `redis ${new URL(persistenceUrl).host}` : 'memory',
    async close() {
      if (persistence) await persistence.destroy().catch(() => undefined);
      // aedes.close() already closes its mq
    },
  };
}
