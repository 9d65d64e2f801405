import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { RedisConnection } from '../redis/redis-connection.js';
import { databasePoolState, PoolState } from './database-pool-state.js';
import { RequestMetrics } from './request-metrics.js';

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

  constructor(requestMetrics: RequestMetrics, dataSource: DataSource, redis: RedisConnection) {
    collectDefaultMetrics({ register: this.registry });

    const durations = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Duration of HTTP requests in seconds, by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    requestMetrics.onRecord((route, method, status, durationMs) => durations.observe({ method, route, status: String(status) }, durationMs / 1000));

    const pools = () => databasePoolState(dataSource);
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
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text; every collect() callback runs now. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  onModuleDestroy(): void {
    this.registry.clear();
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
