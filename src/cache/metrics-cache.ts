import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { CacheGenerations } from './cache-generations.js';
import { entryKey } from './cache-keys.js';
import { CacheStats } from './cache-stats.js';
import { RedisCircuit } from './redis-circuit.js';
import { SingleFlight } from './single-flight.js';

export interface CacheMetadata {
  generated_at: string;
  cache_ttl: number;
  cache_key: string;
  cache_hit: boolean;
}

/** What is stored: the figures and when they were computed, so a hit reports the original instant. */
interface CachedEntry {
  body: Record<string, unknown>;
  generated_at: string;
}

export interface CachedRequest {
  organizationId: string;
  /** The route template, e.g. /api/v1/metrics/activity. */
  route: string;
  normalizedQuery: string;
  ttlSeconds: number;
  forceRefresh: boolean;
}

/**
 * The metrics cache: org-scoped keys under the organization's generation, read-through with single
 * flight, truthful cache_metadata. Any cache failure means "compute from the database", never an error.
 */
@Injectable()
export class MetricsCache {
  private readonly flights = new SingleFlight<CachedEntry>();

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly generations: CacheGenerations,
    private readonly circuit: RedisCircuit,
    private readonly stats: CacheStats,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async serve(request: CachedRequest, compute: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const generation = await this.generations.current(request.organizationId);
    const key = entryKey(this.config.REDIS_KEY_PREFIX, request.organizationId, generation.value, request.route, request.normalizedQuery);
    const metadata = (entry: CachedEntry, hit: boolean) => ({
      ...entry.body,
      cache_metadata: { generated_at: entry.generated_at, cache_ttl: request.ttlSeconds, cache_key: key, cache_hit: hit } satisfies CacheMetadata,
    });

    if (!request.forceRefresh) {
      const cached = generation.known ? await this.read(key) : undefined;
      this.stats.record(cached !== undefined);
      if (cached) return metadata(cached, true);
    }
    const fresh = await this.flights.run(key, async () => {
      const startedAt = this.clock.date().toISOString();
      const body = await compute();
      const entry = { body, generated_at: computedAt(body) ?? startedAt };
      if (generation.known) await this.write(key, entry, request.ttlSeconds);
      return entry;
    });
    return metadata(fresh, false);
  }

  private async read(key: string): Promise<CachedEntry | undefined> {
    try {
      return (await this.call(() => this.cache.get<CachedEntry>(key))) ?? undefined;
    } catch {
      return undefined;
    }
  }

  private async write(key: string, entry: CachedEntry, ttlSeconds: number): Promise<void> {
    try {
      await this.call(() => this.cache.set(key, entry, ttlSeconds * 1000));
    } catch {
      // Not stored: the next request computes again.
    }
  }

  private call<T>(operation: () => Promise<T>): Promise<T> {
    return this.circuit.enabled ? this.circuit.run(operation) : operation();
  }
}

/** The instant the figures themselves state (statistics' generated_at, the dashboard's timestamp), so both agree. */
function computedAt(body: Record<string, unknown>): string | undefined {
  const stated = body.generated_at ?? body.timestamp;
  return typeof stated === 'string' ? stated : undefined;
}
