import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { MetricsCacheInterceptor } from './metrics-cache.interceptor.js';

export const CACHED_METRIC = 'cache:metric';

export interface CachedMetricOptions {
  ttlSeconds: number;
  /** Every query parameter the route accepts, with its default; a request with any other bypasses the cache. */
  queryDefaults: Record<string, string>;
}

/** Serve this route through the org-scoped metrics cache for ttlSeconds. */
export const CachedMetric = (ttlSeconds: number, queryDefaults: Record<string, string> = {}) =>
  applyDecorators(SetMetadata(CACHED_METRIC, { ttlSeconds, queryDefaults } satisfies CachedMetricOptions), UseInterceptors(MetricsCacheInterceptor));
