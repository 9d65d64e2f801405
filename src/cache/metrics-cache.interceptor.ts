import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import type { Principal } from '../auth/principal.js';
import { normalizeQuery, readForceRefresh } from './cache-keys.js';
import { CACHED_METRIC, type CachedMetricOptions } from './cached-metric.decorator.js';
import { MetricsCache } from './metrics-cache.js';

/**
 * Nest's CacheInterceptor, org-scoped: the organization comes from the authenticated principal (never
 * from input), and the response gains cache_metadata. Runs before the validation pipe, so a request the
 * key cannot describe (undeclared or repeated parameters) skips the cache and is answered as without it.
 */
@Injectable()
export class MetricsCacheInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly cache: MetricsCache,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<CachedMetricOptions | undefined>(CACHED_METRIC, context.getHandler());
    const request = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const organizationId = request.principal?.organizationId;
    const query = request.query as Record<string, unknown>;
    const normalizedQuery = options ? normalizeQuery(query, options.queryDefaults) : null;
    const forceRefresh = options ? readForceRefresh(query, options.queryDefaults) : null;
    if (!options || !organizationId || normalizedQuery === null || forceRefresh === null) return next.handle();

    const route = (request.route as { path?: string } | undefined)?.path ?? request.path;
    const compute = () => lastValueFrom(next.handle()) as Promise<Record<string, unknown>>;
    return from(this.cache.serve({ organizationId, route, normalizedQuery, ttlSeconds: options.ttlSeconds, forceRefresh }, compute));
  }
}
