import { Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';

/** Longest wait for one cache call before the request goes on without the cache. */
export const CACHE_CALL_TIMEOUT_MS = 250;
/** After a failure, cache calls skip Redis this long, so a hung Redis costs one timeout, not one per request. */
const RETRY_AFTER_MS = 1_000;

export class CacheUnavailableError extends Error {}

/**
 * Every cache call to Redis goes through here: skipped at once while the client is not ready or
 * shortly after a failure, bounded by a timeout otherwise. Callers catch CacheUnavailableError and
 * carry on without the cache; the client reconnects by itself (see RedisConnection).
 */
@Injectable()
export class RedisCircuit {
  private readonly logger = new Logger('MetricsCache');
  private skipUntil = 0;
  private degraded = false;

  constructor(private readonly redis: RedisConnection) {
    // A reconnected client is worth trying at once.
    redis.onReady(() => (this.skipUntil = 0));
  }

  /** False in the embedded mode: the cache lives in process memory and never fails. */
  get enabled(): boolean {
    return this.redis.enabled;
  }

  /** `timeoutMs`: how long this call may wait for Redis (CACHE_CALL_TIMEOUT_MS unless the caller has more at stake). */
  async run<T>(call: () => Promise<T>, timeoutMs = CACHE_CALL_TIMEOUT_MS): Promise<T> {
    if (!this.redis.isReady || performance.now() < this.skipUntil) throw this.fail('Redis is not connected');
    try {
      const result = await withTimeout(call(), timeoutMs);
      if (this.degraded) {
        this.degraded = false;
        this.logger.log('Metrics cache is back on Redis');
      }
      return result;
    } catch (error) {
      this.skipUntil = performance.now() + RETRY_AFTER_MS;
      throw this.fail((error as Error).message);
    }
  }

  private fail(reason: string): CacheUnavailableError {
    if (!this.degraded) {
      this.degraded = true;
      this.logger.warn(`Metrics cache unavailable, metrics are computed from the database: ${reason}`);
    }
    return new CacheUnavailableError(reason);
  }
}
