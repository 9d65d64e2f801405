import type { CacheModuleOptions } from '@nestjs/cache-manager';
import Keyv from 'keyv';
import type { RedisConnection } from '../redis/redis-connection.js';
import { SharedRedisStore } from './shared-redis-store.js';

/** In the embedded mode, at most this many entries stay in memory (oldest evicted first): old generations are never read again. */
export const MEMORY_CACHE_MAX_ENTRIES = 5_000;

/** A Map that forgets its oldest entries past a size: a bounded in-memory Keyv store. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly maxEntries: number) {
    super();
  }

  override set(key: K, value: V): this {
    this.delete(key);
    super.set(key, value);
    if (this.size > this.maxEntries) this.delete(this.keys().next().value as K);
    return this;
  }
}

/** cache-manager's one store: Redis through @keyv/redis on the shared client, or process memory without REDIS_URL. */
export function cacheStoreOptions(redis: RedisConnection): CacheModuleOptions {
  const store = redis.client ? new SharedRedisStore(redis.client) : new BoundedMap<string, unknown>(MEMORY_CACHE_MAX_ENTRIES);
  // namespace undefined and no key prefix: the key we build is the key stored (and reported as cache_key).
  const keyv = new Keyv({ store, namespace: undefined, useKeyPrefix: false });
  return { stores: [keyv] };
}
