import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import type { Principal } from '../auth/principal.js';
import { normalizeQuery, readForceRefresh } from './cache-keys.js';
import { MetricsCache } from './metrics-cache.js';

export const CACHED_METRIC = 'cache:metric';

export interface CachedMetricOptions {
  ttlSeconds: number;
  /** Every query parameter the route accepts, with its default; a request with any other bypasses the cache. */
  queryDefaults: Record<string, string>;
}

/**
 * What Nest's CacheInterceptor with an org-scoped trackBy would do, plus what it cannot: single flight,
 * force_refresh and cache_metadata. The organization comes from the authenticated principal, never
 * from input. Runs before the validation pipe, so a request the key cannot describe (undeclared or
 * repeated parameters) skips the cache and is answered as without it.
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
