import { Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { PerformanceObserver } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, type Metric, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { CacheStats } from '../cache/cache-stats.js';
import { ReadReplicas } from '../database/read-replicas.js';
import { RateLimitStats } from '../rate-limit/rate-limit-stats.js';
import { RedisConnection } from '../redis/redis-connection.js';
import { databasePoolState, PoolState } from './database-pool-state.js';
import { RequestMetrics } from './request-metrics.js';
import { RequestDurationHistogram } from './request-duration-histogram.js';

/** Fine steps below 50 ms: the service's targets are a 2 ms cached and a 30 ms uncached dashboard. */
const DURATION_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The service's Prometheus registry (its own, never prom-client's global one, so two apps in one
 * process never share series). Request durations come from RequestMetrics' records — the same ones
 * system_metrics reads — and every other series is read from its owner at scrape time.
 */
@Injectable()
export class PrometheusExporter implements OnModuleDestroy {
  readonly registry = new Registry();
  /** prom-client's GC histogram observes through a PerformanceObserver it never disconnects: this exporter does, when it ends. */
  private readonly gcObservers: PerformanceObserver[];

  constructor(
    requestMetrics: RequestMetrics,
    dataSource: DataSource,
    redis: RedisConnection,
    replicas: ReadReplicas,
    // Optional: an app built without the cache or the rate limiter still exports everything else.
    @Optional() cache?: CacheStats,
    @Optional() rateLimits?: RateLimitStats,
  ) {
    this.gcObservers = observersCreatedBy(() => collectDefaultMetrics({ register: this.registry }));
    this.renameTotalGauges();

    const durations = new RequestDurationHistogram('http_request_duration_seconds', 'Duration of HTTP requests in seconds, by method, route template and status', DURATION_BUCKETS);
    this.registry.registerMetric(durations as unknown as Metric);
    requestMetrics.onRecord((route, method, status, durationMs) => durations.observe(method, route, status, durationMs / 1000));

    const pools = () => databasePoolState(dataSource, replicas);
    this.poolGauge('toolbox_db_pool_connections', 'Open connections in the database pool', pools, (state) => state.total);
    this.poolGauge('toolbox_db_pool_idle_connections', 'Idle connections in the database pool', pools, (state) => state.idle);
    this.poolGauge('toolbox_db_pool_waiting_requests', 'Queries waiting for a database connection', pools, (state) => state.waiting);

    new Gauge({
      name: 'toolbox_redis_up',
      help: 'Whether the Redis connection is ready (1) or not (0); always 0 in the embedded mode without Redis',
      registers: [this.registry],
      collect() {
        this.set(redis.isReady ? 1 : 0);
      },
    });

    this.replicaSeries(replicas);
    if (cache) this.cacheSeries(cache);
    if (rateLimits) this.rateLimitSeries(rateLimits);
  }

  /** The exposition text; every collect() callback runs now. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  onModuleDestroy(): void {
    // Left observing, the observer would keep this registry (and what its collectors read) for the life of the process.
    for (const observer of this.gcObservers) observer.disconnect();
    this.registry.clear();
  }

  /** Each read replica's state as of its last check (one series per state, 1 for the current one) and its lag. */
  private replicaSeries(replicas: ReadReplicas): void {
    new Gauge({
      name: 'toolbox_db_replica_state',
      help: 'Read replica state at the last check: 1 on the series of the current state (up, lagging, down), 0 on the others',
      labelNames: ['replica', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const status of replicas.statuses()) {
          for (const state of ['up', 'lagging', 'down'] as const) this.set({ replica: status.name, state }, status.state === state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'toolbox_db_replica_lag_seconds',
      help: 'Read replica replay lag at the last check, in seconds (absent while the replica is down)',
      labelNames: ['replica'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const status of replicas.statuses()) if (status.lag_seconds !== null) this.set({ replica: status.name }, status.lag_seconds);
      },
    });
  }

  /** Lookups of the metric caches: the same records that system_metrics' cache_hit_rate reads. */
  private cacheSeries(stats: CacheStats): void {
    new Counter({
      name: 'toolbox_cache_hits_total',
      help: 'Metric cache lookups answered from the cache',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(stats.hits);
      },
    });
    new Counter({
      name: 'toolbox_cache_misses_total',
      help: 'Metric cache lookups that had to compute the figures',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(stats.misses);
      },
    });
  }

  /** The rate limiter's own cumulative counters, read at scrape time. */
  private rateLimitSeries(stats: RateLimitStats): void {
    new Counter({
      name: 'toolbox_rate_limit_rejections_total',
      help: 'Requests refused with 429 by the rate limiter, by method and route template',
      labelNames: ['method', 'route'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [endpoint, rejections] of stats.rejectionsByEndpoint()) {
          const [method, route] = splitEndpoint(endpoint);
          this.inc({ method, route }, rejections);
        }
      },
    });
    new Counter({
      name: 'toolbox_rate_limit_memory_fallbacks_total',
      help: 'Rate-limit counts made in process memory because Redis failed or was unreachable',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(stats.fallbackCount);
      },
    });
    new Gauge({
      name: 'toolbox_rate_limit_redis_degraded',
      help: 'Whether the rate limiter currently counts in process memory because Redis failed (1) or not (0)',
      registers: [this.registry],
      collect() {
        this.set(stats.redisDegraded ? 1 : 0);
      },
    });
  }

  /**
   * prom-client names three gauges …_total, a suffix Prometheus keeps for counters (promtool check metrics fails on
   * them): the same figures as nodejs_active_{handles,requests,resources}_all; the per-type gauges stay as they are.
   */
  private renameTotalGauges(): void {
    const internals = process as unknown as { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[]; getActiveResourcesInfo?: () => string[] };
    const counts: Record<string, [string, (() => number) | undefined]> = {
      nodejs_active_handles_total: ['Active libuv handles, all types', internals._getActiveHandles && (() => internals._getActiveHandles!().length)],
      nodejs_active_requests_total: ['Active libuv requests, all types', internals._getActiveRequests && (() => internals._getActiveRequests!().length)],
      nodejs_active_resources_total: ['Active resources keeping the event loop alive, all types', internals.getActiveResourcesInfo && (() => internals.getActiveResourcesInfo!().length)],
    };
    for (const [name, [help, count]] of Object.entries(counts)) {
      if (!this.registry.getSingleMetric(name)) continue;
      this.registry.removeSingleMetric(name);
      if (!count) continue;
      new Gauge({
        name: name.replace(/_total$/, '_all'),
        help,
        registers: [this.registry],
        collect() {
          this.set(count());
        },
      });
    }
  }

  private poolGauge(name: string, help: string, pools: () => PoolState[], value: (state: PoolState) => number): void {
    new Gauge({
      name,
      help: `${help} ("primary", "replica-N")`,
      labelNames: ['pool'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const state of pools()) this.set({ pool: state.pool }, value(state));
      },
    });
  }
}

/** "GET /api/v1/metrics/dashboard" → ["GET", "/api/v1/metrics/dashboard"]. */
function splitEndpoint(endpoint: string): [string, string] {
  const space = endpoint.indexOf(' ');
  return space < 0 ? ['', endpoint] : [endpoint.slice(0, space), endpoint.slice(space + 1)];
}

/** The performance observers that `action` starts observing (prom-client keeps no handle on its own). */
export function observersCreatedBy(action: () => void): PerformanceObserver[] {
  const observe = PerformanceObserver.prototype.observe;
  const created: PerformanceObserver[] = [];
  PerformanceObserver.prototype.observe = function (this: PerformanceObserver, ...options: Parameters<PerformanceObserver['observe']>) {
    created.push(this);
    return observe.apply(this, options);
  };
  try {
    action();
  } finally {
    PerformanceObserver.prototype.observe = observe;
  }
  return created;
}
