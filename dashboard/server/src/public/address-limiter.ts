import { TokenBucket } from '@tamky/service-kit';

/**
 * A token bucket per client address, at most `maxAddresses` of them: a crowd of distinct addresses
 * evicts the longest-idle buckets instead of growing memory without bound.
 */
export function createAddressLimiter(perMinute: number, now: () => number, maxAddresses = 50_000) {
  const buckets = new Map<string, TokenBucket>();
  return {
    /** Takes one request's token; false = over the limit. */
    take(address: string): boolean {
      let bucket = buckets.get(address);
      if (bucket) buckets.delete(address);
      else {
        bucket = new TokenBucket(perMinute / 60, perMinute, now);
        if (buckets.size >= maxAddresses) buckets.delete(buckets.keys().next().value!);
      }
      // Re-inserted last: the Map's order is least recently seen first.
      buckets.set(address, bucket);
      return bucket.take();
    },
    size: () => buckets.size,
  };
}
