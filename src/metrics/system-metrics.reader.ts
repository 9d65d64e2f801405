import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReadReplicas } from '../database/read-replicas.js';
import { databasePoolState } from '../observability/database-pool-state.js';
import { RequestMetrics } from '../observability/request-metrics.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';
import { round2 } from './statistics.js';

/**
 * Where cache_hit_rate comes from: the caching module provides this token (hits ÷ lookups of metric
 * caches over the last 5 minutes, in %, or null without lookups). Until it does, the figure is null.
 */
export const CACHE_HIT_RATE_SOURCE = Symbol('CACHE_HIT_RATE_SOURCE');
export interface CacheHitRateSource {
  hitRatePct(): number | null | Promise<number | null>;
}

export interface SystemFigures {
  api_response_time: number | null;
  cache_hit_rate: number | null;
  database_connections: number;
  redis_memory_usage: number | null;
  error_rate: number | null;
}

const REDIS_INFO_TIMEOUT_MS = 250;

/** system_metrics as the service measures itself: request window, database pool, Redis memory. */
@Injectable()
export class SystemMetricsReader {
  constructor(
    private readonly requests: RequestMetrics,
    private readonly dataSource: DataSource,
    private readonly redis: RedisConnection,
    @Optional() @Inject(CACHE_HIT_RATE_SOURCE) private readonly cacheHitRate?: CacheHitRateSource,
    @Optional() private readonly replicas?: ReadReplicas,
  ) {}

  async read(): Promise<SystemFigures> {
    const window = this.requests.summary();
    const [redisMemory, cacheHitRate] = await Promise.all([this.redisMemoryMb(), this.cacheHitRate?.hitRatePct() ?? null]);
    return {
      api_response_time: window.p95Ms,
      cache_hit_rate: cacheHitRate === null ? null : round2(cacheHitRate),
      database_connections: this.databaseConnections(),
      redis_memory_usage: redisMemory,
      error_rate: window.errorRatePct,
    };
  }

  /** Open connections of the pg pools (primary and replicas), as the Prometheus gauges report them. */
  databaseConnections(): number {
    return databasePoolState(this.dataSource, this.replicas).reduce((total, pool) => total + pool.total, 0);
  }

  /** used_memory of INFO memory in MB (two decimals; summed over a cluster's masters); null without Redis, while it is down or slow. */
  async redisMemoryMb(): Promise<number | null> {
    if (!this.redis.isReady) return null;
    try {
      const infos = await withTimeout(Promise.all(this.redis.nodeClients().map((client) => client.info('memory'))), REDIS_INFO_TIMEOUT_MS);
      const bytes = infos.map((info) => /^used_memory:(\d+)\r?$/m.exec(info));
      if (bytes.length === 0 || bytes.some((match) => match === null)) return null;
      return round2(bytes.reduce((total, match) => total + Number(match![1]), 0) / 1024 / 1024);
    } catch {
      return null;
    }
  }
}
