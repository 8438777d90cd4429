// aedes-persistence-redis ships no types; aedes 1.x needs its async class, not the callback wrapper it exports.
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  export default class AsyncRedisPersistence {
    constructor(opts?: Record<string, unknown>);
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
}

declare module 'msgpack-lite' {
  const msgpack: { decode(buf: Buffer): unknown; encode(value: unknown): Buffer };
  export default msgpack;
}
