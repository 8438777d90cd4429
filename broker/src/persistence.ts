import { Readable } from 'node:stream';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';
import { Redis, type RedisOptions } from 'ioredis';
import msgpack from 'msgpack-lite';
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
  private readonly conn: Redis & { clearDelivery(listKey: string, pktKey: string, countKey: string): Promise<number> };
  private readonly maxSessionDelivery: number;
  /** QoS 1 deliveries awaiting their PUBACK, by client and message id: what the acknowledgement clears. */
  private readonly awaitingAck = new Map<string, Delivery>();

  constructor(opts: Record<string, unknown> & { maxSessionDelivery: number }) {
    const conn = new Redis(opts as RedisOptions);
    removeFirstDeliveryOnly(conn);
    conn.defineCommand('clearDelivery', { numberOfKeys: 3, lua: CLEAR_DELIVERY_LUA });
    super({ ...opts, conn });
    this.conn = conn as RedisPersistence['conn'];
    this.maxSessionDelivery = opts.maxSessionDelivery;
  }

  /**
   * A session's queue, as aedes resends it on reconnect. The library fetches each packet with its own GET
   * (one round trip per message, awaited); here the list is read once and packets come `RESEND_READ_BATCH`
   * per MGET. Keys and encoding are the library's (`outgoing:{clientId}` lists `packet:…` keys, msgpack);
   * a key whose packet is gone is dropped from the list, as the library does.
   */
  outgoingStream(client: { id: string }): AsyncGenerator<unknown> {
    const { conn, maxSessionDelivery } = this;
    const listKey = `outgoing:${encodeURIComponent(client.id)}`;
    return (async function* () {
      const keys = await conn.lrange(listKey, 0, maxSessionDelivery);
      for (let i = 0; i < keys.length; i += RESEND_READ_BATCH) {
        const batch = keys.slice(i, i + RESEND_READ_BATCH);
        const values = await conn.mgetBuffer(...batch);
        for (let j = 0; j < batch.length; j++) {
          const decoded: unknown = values[j] ? msgpack.decode(values[j]!) : undefined;
          if (decoded) yield decoded;
          else void conn.lrem(listKey, 0, batch[j]!).catch(() => undefined);
        }
      }
    })();
  }

  /**
   * Before each QoS 1 send aedes awaits this (a SET of the packet with its message id), so a resend paid a
   * Redis round trip per message. The library issues the SET synchronously and keeps the id → packet map in
   * memory; every later command for that message (the PUBACK's clear) goes over the same connection and
   * Redis applies them in order, so the send need not wait for the reply. QoS 2's update is several dependent
   * commands and is still awaited. If the broker dies before the SET lands, the packet is resent under a new
   * id: at least once, as before.
   */
  outgoingUpdate(client: { id: string }, packet: OutgoingUpdate): Promise<void> {
    const done = (
      AsyncRedisPersistence.prototype as unknown as { outgoingUpdate(c: unknown, p: unknown): Promise<void> }
    ).outgoingUpdate.call(this, client, packet);
    if (packet.cmd === 'pubrel' || packet.qos !== 1) return done;
    done.catch(() => undefined);
    this.rememberDelivery(client.id, packet);
    return Promise.resolve();
  }

  /**
   * A PUBACK's clear. The library awaits four commands in turn (GET of the packet only to learn its keys, LREM,
   * DECR, DEL), and aedes handles the client's next packet only after it: a catch-up was bounded by Redis round
   * trips per acknowledgement. The keys are known from the delivery, so one script does the same work in one
   * command, not awaited: later commands for the session go over the same connection and Redis applies them in
   * order. If the broker dies before it lands, the message is resent: at least once, as before. QoS 2 and
   * deliveries this process did not send go the library's way.
   */
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown> {
    const key = deliveryKey(client.id, packet.messageId);
    const delivery = this.awaitingAck.get(key);
    if (!delivery) {
      return (
        AsyncRedisPersistence.prototype as unknown as { outgoingClearMessageId(c: unknown, p: unknown): Promise<unknown> }
      ).outgoingClearMessageId.call(this, client, packet);
    }
    this.awaitingAck.delete(key);
    const pktKey = `packet:${delivery.brokerId}:${delivery.brokerCounter}`;
    this.conn.clearDelivery(`outgoing:${encodeURIComponent(client.id)}`, pktKey, `${pktKey}:offlineCount`).catch(() => undefined);
    return Promise.resolve({ ...delivery, messageId: packet.messageId });
  }

  private rememberDelivery(clientId: string, packet: OutgoingUpdate): void {
    if (packet.brokerId === undefined || packet.brokerCounter === undefined || packet.messageId === undefined) return;
    const key = deliveryKey(clientId, packet.messageId);
    this.awaitingAck.delete(key); // re-inserted last: the oldest entries are the ones dropped below
    this.awaitingAck.set(key, { brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, topic: packet.topic, qos: 1 });
    // Deliveries never acknowledged (a clean session that went away) must not grow this forever; an entry
    // dropped here is cleared the library's way when its PUBACK comes.
    if (this.awaitingAck.size > MAX_AWAITING_ACK) this.awaitingAck.delete(this.awaitingAck.keys().next().value!);
  }

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

/**
 * The library takes a delivery off a session's list (`outgoing:{clientId}`, one entry per queued message) with
 * LREM count 0, which scans the whole list whatever it finds. Acknowledgements arrive in queue order, so the
 * entry is at the head: with count 1 Redis stops there, where count 0 made catching up on a long queue
 * quadratic (each PUBACK walked the rest of the backlog). A message is queued once per session, so the first
 * match is the only one; were there a second, it would be resent, not lost.
 */
function removeFirstDeliveryOnly(conn: Redis): void {
  const lrem = conn.lrem.bind(conn) as (key: string, count: number, value: string) => Promise<number>;
  (conn as unknown as { lrem: typeof lrem }).lrem = (key, count, value) =>
    lrem(key, count === 0 && key.startsWith('outgoing:') ? 1 : count, value);
}

interface OutgoingUpdate {
  cmd?: string;
  qos?: number;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  topic?: string;
}

interface Delivery {
  brokerId: string;
  brokerCounter: number;
  topic: string | undefined;
  qos: 1;
}

const deliveryKey = (clientId: string, messageId: number | undefined) => `${clientId}\u0000${messageId}`;

/** As many as the library's own message-id cache holds. */
const MAX_AWAITING_ACK = 100_000;

/**
 * The library's QoS 1 clear in one step, with its keys (`outgoing:{clientId}`, `packet:{brokerId}:{counter}` and
 * its `:offlineCount`): take the delivery off the session's list (the head: count 1, see removeFirstDeliveryOnly),
 * count it delivered, and drop the packet once every subscriber has it.
 */
const CLEAR_DELIVERY_LUA = `
redis.call('LREM', KEYS[1], 1, KEYS[2])
local remained = redis.call('DECR', KEYS[3])
if remained == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return remained`;

/** Packets fetched per round trip when a session's queue is resent. */
const RESEND_READ_BATCH = 256;

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
