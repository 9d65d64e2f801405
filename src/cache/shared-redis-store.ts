import KeyvRedis from '@keyv/redis';
import type { RedisClientType } from '@redis/client';

/**
 * @keyv/redis on the process's one Redis client (RedisConnection), which it does not own: it never
 * opens the client (RedisConnection connects and reconnects it) and never closes it on shutdown
 * (RedisConnection does, after everything else has stopped).
 */
export class SharedRedisStore extends KeyvRedis<unknown> {
  constructor(client: RedisClientType) {
    // No namespace: our keys carry their own prefix, and a namespace here would prepend "ns::".
    super(client, { throwOnConnectError: false, throwOnErrors: false });
  }

  override async getClient(): Promise<never> {
    return this.client as never;
  }

  override async disconnect(): Promise<void> {}
}
