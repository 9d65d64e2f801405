import { CacheModule } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { CACHE_HIT_RATE_SOURCE } from '../metrics/system-metrics.reader.js';
import { RedisConnection } from '../redis/redis-connection.js';
import { CacheGenerations } from './cache-generations.js';
import { CacheInvalidationController } from './cache-invalidation.controller.js';
import { cacheStoreOptions } from './cache-store.factory.js';
import { CacheStats } from './cache-stats.js';
import { GenerationChannel } from './generation-channel.js';
import { MetricsCache } from './metrics-cache.js';
import { MetricsCacheInterceptor } from './metrics-cache.interceptor.js';
import { RedisCircuit } from './redis-circuit.js';

/**
 * The org-scoped metrics cache. Global: the metrics controller's @CachedMetric interceptor resolves its
 * dependencies here, system_metrics reads the hit rate, and the exporter reads CacheStats.
 */
@Global()
@Module({
  imports: [CacheModule.registerAsync({ inject: [RedisConnection], useFactory: cacheStoreOptions })],
  controllers: [CacheInvalidationController],
  providers: [
    CacheStats,
    RedisCircuit,
    GenerationChannel,
    CacheGenerations,
    MetricsCache,
    MetricsCacheInterceptor,
    { provide: CACHE_HIT_RATE_SOURCE, useExisting: CacheStats },
  ],
  exports: [CacheStats, CacheGenerations, GenerationChannel, MetricsCache, MetricsCacheInterceptor, CACHE_HIT_RATE_SOURCE],
})
export class MetricsCacheModule {}
