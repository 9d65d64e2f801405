import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { flatUuid } from '../common/flat-uuid.js';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { API_PREFIX } from '../common/api-prefix.js';
import { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import { normalizeQuery, readForceRefresh } from '../cache/cache-keys.js';
import { CacheStats } from '../cache/cache-stats.js';
import { MetricsCache } from '../cache/metrics-cache.js';
import { AppConfig } from '../config/app-config.js';
import { formatDuration, type IncomingCorrelation, readCorrelation } from '../correlation/correlation-headers.js';
import { CompletedRun, correlationHeaders, RequestCompletion, secondsSince } from '../correlation/correlation.middleware.js';
import { observeResponse } from '../http-server/express-server.adapter.js';
import { ProblemDetailsFilter } from '../errors/problem-details.filter.js';
import { sendProblem } from '../errors/problem.js';
import { PINO_LOGGER } from '../observability/observability.module.js';
import { RequestMetrics } from '../observability/request-metrics.js';
import { type RateLimitDecision, spendBudget, userBudget } from '../rate-limit/rate-limit-decision.js';
import { RateLimitStats } from '../rate-limit/rate-limit-stats.js';
import { RateLimitStorage } from '../rate-limit/rate-limit-storage.js';
import { type CachedRoute, discoverCachedRoutes } from './cached-routes.js';
import { EndOfTurnWrites } from './end-of-turn-writes.js';
import { parseQuery, readRequestTarget } from './request-target.js';

/** Distinct raw queries remembered per route with their key (a bound: the queries come from clients). */
const MAX_QUERIES_PER_ROUTE = 1_000;

/** One request the fast path has taken on: everything its response and its completion line need. */
interface Served {
  request: IncomingMessage;
  response: ServerResponse;
  /** When the request arrived (performance.now()). */
  started: number;
  route: CachedRoute;
  principal: Principal;
  incoming: IncomingCorrelation;
  requestId: string;
  /** Records the request when its response closes. */
  completion: RequestCompletion;
}

/** A hit waiting for the end of its event-loop turn to be written. */
interface PendingHit {
  served: Served;
  body: Buffer;
  rateLimitHeaders: Record<string, string> | undefined;
}

/**
 * Cache hits of the @CachedMetric routes, answered ahead of Express and Nest: a hit costs a token check against a
 * cache of verified tokens, two map lookups and a write of bytes kept ready (MetricsCache's L1). It takes a
 * request only when every rule the Nest path would apply is known to pass without I/O: GET, a query the
 * interceptor would key, a valid token (not revoked, not outdated: Authenticator.peek) of a cached principal whose role the route admits, a chain depth within
 * bounds, and the organization's current generation and entry in process memory. Anything else, errors included,
 * goes to Express untouched, which answers it as it always has. A served hit carries the Nest path's status,
 * bytes and headers, and is recorded, counted and logged by the same functions; with rate limiting on, it spends
 * the same budget through the same decision (and may answer that decision's 429). Hits are written at the end of
 * the event-loop turn that read them, together (EndOfTurnWrites).
 */
@Injectable()
export class CachedHitFastPath implements OnApplicationBootstrap {
  private readonly routes = new Map<string, CachedRoute>();
  private readonly problems = new ProblemDetailsFilter();
  private readonly hits = new EndOfTurnWrites<PendingHit>(
    (hit) => this.sendHit(hit.served, hit.body, hit.rateLimitHeaders),
    (hit, error) => {
      // Not expected: the client sees its connection end, and nothing else is affected.
      this.logger.error({ err: error, correlation_id: hit.served.incoming.correlationId }, 'A cached hit could not be written');
      hit.served.response.destroy();
    },
  );

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
    private readonly authenticator: Authenticator,
    private readonly cache: MetricsCache,
    private readonly cacheStats: CacheStats,
    private readonly requestMetrics: RequestMetrics,
    private readonly rateLimitStorage: RateLimitStorage,
    private readonly rateLimitStats: RateLimitStats,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    for (const route of discoverCachedRoutes(this.discovery, this.scanner, this.reflector, API_PREFIX)) this.routes.set(route.template, route);
  }

  /** The route templates served here when their entry is held (for tests and the docs). */
  get templates(): string[] {
    return [...this.routes.keys()];
  }

  /** A 'request' listener that answers what it can and hands everything else to `next` (Express). */
  listener(next: RequestListener): RequestListener {
    return (request, response) => {
      if (!this.take(request, response, next)) next(request, response);
    };
  }

  /** True when the request is answered here; false, with nothing written, when it is left to Express. */
  private take(request: IncomingMessage, response: ServerResponse, next: RequestListener): boolean {
    const started = performance.now();
    if (request.method !== 'GET') return false;
    const target = readRequestTarget(request.url ?? '');
    const route = target && this.routes.get(target.path);
    if (!target || !route) return false;
    const headers = request.headers;
    // A body (which a GET may carry) goes through Express's parser, which may refuse it (400, 413).
    if ((headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined) return false;
    const normalizedQuery = this.keyOf(route, target.rawQuery);
    if (normalizedQuery === null) return false;

    // A cross-origin request needs the CORS headers Express adds.
    if (headers.origin !== undefined && this.config.corsOrigins.length > 0) return false;
    // Every rule of the auth guard (revocation and outdated tokens included), decided without I/O or left to Nest.
    const principal = this.authenticator.peekHeader(headers.authorization, request.socket);
    if (!principal || !route.roles.includes(principal.role)) return false;
    const body = this.cache.peekHit(principal.organizationId, route.template, normalizedQuery);
    if (!body) return false;
    const incoming = readCorrelation(headers);
    if (incoming.chainDepth > this.config.MAX_CHAIN_DEPTH) return false;

    const requestId = flatUuid();
    const ids = {
      correlationId: incoming.correlationId,
      requestId,
      parentCorrelationId: incoming.parentCorrelationId,
      chainDepth: incoming.chainDepth,
      traceId: incoming.traceId,
      organizationId: principal.organizationId,
      userId: principal.userId,
    };
    // A hit's own headers carry its duration; a rejection's are stamped when written, as on the Nest path.
    const completion = new RequestCompletion(this.requestMetrics, this.logger, ids, 'GET', route.template, started, false, this.completedRun(route, principal));
    const served: Served = { request, response, started, route, principal, incoming, requestId, completion };
    // From here the request is this path's: recorded once when it ends, even if the client leaves first.
    observeResponse(response, completion);
    const budget = userBudget(this.config, route.endpoint, principal.organizationId, principal.userId, principal.tier);
    if (!budget) {
      this.hits.add({ served, body, rateLimitHeaders: undefined });
      return true;
    }
    spendBudget(this.rateLimitStorage, this.rateLimitStats, budget).then(
      (decision) => (decision.rejection ? this.sendRejection(served, decision) : this.hits.add({ served, body, rateLimitHeaders: decision.headers })),
      // Not expected (the storage falls back to memory): let the Nest path answer it, and record it, as it would.
      () => next(request, response),
    );
    return true;
  }

  /** A served hit's completion line from organization_id to status, rendered once per route and principal (cached principals are reused). */
  private completedRun(route: CachedRoute, principal: Principal): CompletedRun {
    let run = route.completedRuns.get(principal);
    if (run === undefined) {
      run = new CompletedRun(principal.organizationId, principal.userId, 'GET', route.template, 200);
      route.completedRuns.set(principal, run);
    }
    return run;
  }

  /** The interceptor's key for this raw query, or null when it would not read the cache (remembered per route: few distinct queries). */
  private keyOf(route: CachedRoute, rawQuery: string): string | null {
    let key = route.keys.get(rawQuery);
    if (key === undefined) {
      const query = parseQuery(rawQuery);
      const { queryDefaults } = route.options;
      const normalized = normalizeQuery(query, queryDefaults);
      key = normalized !== null && readForceRefresh(query, queryDefaults) === false ? normalized : null;
      if (route.keys.size >= MAX_QUERIES_PER_ROUTE) route.keys.clear();
      route.keys.set(rawQuery, key);
    }
    return key;
  }

  private sendHit(served: Served, body: Buffer, rateLimitHeaders: Record<string, string> | undefined): void {
    this.cacheStats.record(true);
    // The headers in the order the Nest path writes them: correlation, rate limit, Express's two, then the duration.
    const headers = correlationHeaders(served.incoming, served.requestId, this.config.SERVICE_NAME);
    if (rateLimitHeaders) Object.assign(headers, rateLimitHeaders);
    headers['Content-Type'] = 'application/json; charset=utf-8';
    headers['Content-Length'] = String(body.length);
    headers['X-Request-Duration'] = formatDuration(secondsSince(served.started));
    served.response.writeHead(200, headers);
    served.response.end(body);
  }

  private sendRejection(served: Served, decision: RateLimitDecision): void {
    const { response } = served;
    const headers = { ...correlationHeaders(served.incoming, served.requestId, this.config.SERVICE_NAME), ...decision.headers };
    for (const name in headers) response.setHeader(name, headers[name]);
    const problem = this.problems.toProblem(decision.rejection, served.request.url ?? '', served.incoming.correlationId);
    // Stamped as on the Nest path: when the headers are written, after the problem's own.
    served.completion.stampDuration = true;
    sendProblem(response, problem);
  }
}
