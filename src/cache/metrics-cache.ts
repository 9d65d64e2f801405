import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { withReadRequirement } from '../database/read-replicas.js';
import { CacheGenerations } from './cache-generations.js';
import { EntryKeys, entryKey } from './cache-keys.js';
import { CacheStats } from './cache-stats.js';
import { GenerationChannel } from './generation-channel.js';
import { HitResponses } from './hit-responses.js';
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
  /** The L1: finished hit responses, served by the fast path (src/fast-path) without Express, Nest or Redis. */
  private readonly hits = new HitResponses();
  /** The L1's keys as the fast path asks for them, built once. */
  private readonly hitKeys: EntryKeys;
  /** Counts what may make an L1 copy older than the stored entry (another instance's newer entry, a lost channel). */
  private invalidations = 0;

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly generations: CacheGenerations,
    private readonly circuit: RedisCircuit,
    private readonly stats: CacheStats,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly channel: GenerationChannel,
  ) {
    this.hitKeys = new EntryKeys(config.REDIS_KEY_PREFIX);
    channel.listen({
      replaced: (key) => {
        this.invalidations++;
        this.hits.delete(key);
      },
      lost: () => {
        this.invalidations++;
        this.hits.clear();
      },
    });
  }

  /**
   * The finished bytes of a hit, when this instance knows the organization's current generation without asking
   * Redis and holds the entry under it; otherwise undefined, and the request takes the ordinary path.
   */
  peekHit(organizationId: string, route: string, normalizedQuery: string): Buffer | undefined {
    const generation = this.generations.knownCurrent(organizationId);
    if (generation === undefined) return undefined;
    return this.hits.get(this.hitKeys.get(organizationId, generation, route, normalizedQuery), Date.now());
  }

  async serve(request: CachedRequest, compute: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const generation = await this.generations.current(request.organizationId);
    const key = entryKey(this.config.REDIS_KEY_PREFIX, request.organizationId, generation.value, request.route, request.normalizedQuery);
    const metadata = (entry: CachedEntry, hit: boolean) => ({
      ...entry.body,
      cache_metadata: { generated_at: entry.generated_at, cache_ttl: request.ttlSeconds, cache_key: key, cache_hit: hit } satisfies CacheMetadata,
    });
    const remember = (entry: CachedEntry, expiresAt: number, invalidationsBefore: number) => {
      if (this.invalidations !== invalidationsBefore || this.generations.knownCurrent(request.organizationId) !== generation.value) return;
      // The bytes Express sends for the hit Nest would answer: JSON.stringify of the same object.
      this.hits.set(key, Buffer.from(JSON.stringify(metadata(entry, true))), expiresAt, Date.now());
    };

    if (!request.forceRefresh) {
      const invalidationsBefore = this.invalidations;
      const cached = generation.known ? await this.read(key) : undefined;
      this.stats.record(cached !== undefined);
      if (cached) {
        if (cached.expires) remember(cached.value, cached.expires, invalidationsBefore);
        return metadata(cached.value, true);
      }
    }
    const fresh = await this.flights.run(key, async () => {
      const startedAt = this.clock.date().toISOString();
      // Read-your-writes: a replica may compute these figures only once it has replayed the organization's last write;
      // without a known generation nothing is stored, but the figures still come from the primary, fresh.
      const body = await withReadRequirement(generation.known ? { replayed: generation.lastWrite } : 'primary', compute);
      const entry = { body, generated_at: computedAt(body) ?? startedAt };
      if (generation.known) {
        const invalidationsBefore = this.invalidations;
        const expiresAt = Date.now() + request.ttlSeconds * 1000;
        if (await this.write(key, entry, request.ttlSeconds)) {
          remember(entry, expiresAt, invalidationsBefore);
          // Another instance may hold the entry this one replaced (force refresh, or two misses at once).
          await this.announceReplaced(key);
        }
      }
      return entry;
    });
    return metadata(fresh, false);
  }

  /** The entry and when it expires (Keyv stores the expiry with the value, so one round trip gives both). */
  private async read(key: string): Promise<{ value: CachedEntry; expires?: number | null } | undefined> {
    try {
      const raw = await this.call(() => this.cache.stores[0].getRaw<CachedEntry>(key));
      return raw?.value ? { value: raw.value, expires: raw.expires } : undefined;
    } catch {
      return undefined;
    }
  }

  private async write(key: string, entry: CachedEntry, ttlSeconds: number): Promise<boolean> {
    try {
      await this.call(() => this.cache.set(key, entry, ttlSeconds * 1000));
      return true;
    } catch {
      // Not stored: the next request computes again.
      return false;
    }
  }

  private async announceReplaced(key: string): Promise<void> {
    if (!this.circuit.enabled) return;
    try {
      await this.circuit.run(() => this.channel.replaced(key));
    } catch {
      // Others keep their copy of the older entry (same generation) until it expires.
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
