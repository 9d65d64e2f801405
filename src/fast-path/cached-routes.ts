import { RequestMethod } from '@nestjs/common';
import { GUARDS_METADATA, INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { allowedRoles } from '../auth/roles.guard.js';
import { CACHED_METRIC, type CachedMetricOptions, MetricsCacheInterceptor } from '../cache/metrics-cache.interceptor.js';
import type { CompletedRun } from '../correlation/correlation.middleware.js';
import type { Role } from '../database/entities/user.entity.js';

/** A GET route served through the metrics cache, as the fast path needs it. */
export interface CachedRoute {
  /** The route template, as RequestMetrics and the logs name it: /api/v1/metrics/dashboard. */
  template: string;
  /** "GET /api/v1/metrics/dashboard": the rate-limit endpoint. */
  endpoint: string;
  options: CachedMetricOptions;
  roles: Role[];
  /** Raw query → the interceptor's normalized query, or null when it would skip the cache (filled by the fast path). */
  keys: Map<string, string | null>;
  /** A served hit's completion line from organization_id to status, per principal (filled by the fast path). */
  completedRuns: WeakMap<Principal, CompletedRun>;
}

/**
 * Every @CachedMetric GET route, read from the controllers' metadata, that the fast path can answer exactly as
 * Nest would: a fixed path, the global guards only, no interceptor but the metrics cache's, not public, and no
 * per-route throttler settings. A route that does not qualify is simply left to Nest.
 */
export function discoverCachedRoutes(discovery: DiscoveryService, scanner: MetadataScanner, reflector: Reflector, globalPrefix: string): CachedRoute[] {
  const routes: CachedRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (Function & { prototype: object }) | undefined;
    if (!controller || !wrapper.instance) continue;
    for (const name of scanner.getAllMethodNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, Function>)[name];
      const options = reflector.get<CachedMetricOptions | undefined>(CACHED_METRIC, handler);
      if (!options || Reflect.getMetadata(METHOD_METADATA, handler) !== RequestMethod.GET) continue;
      const template = templateOf(globalPrefix, Reflect.getMetadata(PATH_METADATA, controller), Reflect.getMetadata(PATH_METADATA, handler));
      if (template === null || !answerableAlone(reflector, handler, controller)) continue;
      routes.push({ template, endpoint: `GET ${template}`, options, roles: allowedRoles(reflector, handler, controller), keys: new Map(), completedRuns: new WeakMap() });
    }
  }
  return routes;
}

function templateOf(prefix: string, controllerPath: unknown, handlerPath: unknown): string | null {
  if (typeof controllerPath !== 'string' || typeof handlerPath !== 'string') return null;
  const path = `/${[prefix, controllerPath, handlerPath].map((part) => part.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
  // Parameters and wildcards would need Express's matching: such routes stay with it.
  return /^[A-Za-z0-9/_.-]+$/.test(path) ? path : null;
}

function answerableAlone(reflector: Reflector, handler: Function, controller: Function): boolean {
  if (reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, controller])) return false;
  if (Reflect.getMetadata(GUARDS_METADATA, handler) || Reflect.getMetadata(GUARDS_METADATA, controller)) return false;
  if (Reflect.getMetadata(INTERCEPTORS_METADATA, controller)) return false;
  const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, handler) ?? []) as unknown[];
  if (interceptors.some((interceptor) => interceptor !== MetricsCacheInterceptor)) return false;
  // @Throttle / @SkipThrottle and friends: the fast path applies the default rule only.
  const keys = [...Reflect.getMetadataKeys(handler), ...Reflect.getMetadataKeys(controller)] as unknown[];
  return !keys.some((key) => typeof key === 'string' && key.startsWith('THROTTLER:'));
}
