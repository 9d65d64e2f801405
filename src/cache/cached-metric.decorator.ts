import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { CACHED_METRIC, type CachedMetricOptions, MetricsCacheInterceptor } from './metrics-cache.interceptor.js';

/** Serve this route through the org-scoped metrics cache for ttlSeconds; queryDefaults lists every parameter it accepts. */
export const CachedMetric = (ttlSeconds: number, queryDefaults: Record<string, string> = {}) =>
  applyDecorators(SetMetadata(CACHED_METRIC, { ttlSeconds, queryDefaults } satisfies CachedMetricOptions), UseInterceptors(MetricsCacheInterceptor));
