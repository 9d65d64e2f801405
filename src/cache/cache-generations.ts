import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { RedisConnection } from '../redis/redis-connection.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { generationKey } from './cache-keys.js';
import { RedisCircuit } from './redis-circuit.js';

export interface Generation {
  value: number;
  /** False when Redis could not be asked: the cache must not be read or written for this organization now. */
  known: boolean;
}

/**
 * One counter per organization, part of every cache key: moving it orphans all of the organization's
 * entries at once (they expire by TTL), without scanning keys and without touching other organizations.
 * In Redis (INCR) so every instance sees it; in process memory in the embedded mode.
 */
@Injectable()
export class CacheGenerations implements OnModuleInit {
  private readonly logger = new Logger('MetricsCache');
  /** The embedded mode's counters; with Redis, the last value read (named in cache_key while Redis is away). */
  private readonly memory = new Map<string, number>();
  /** Organizations whose move failed while Redis was away: retried before their next read and on reconnect. */
  private readonly pending = new Set<string>();

  constructor(
    private readonly circuit: RedisCircuit,
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly changes: ChangeNotifier,
  ) {}

  onModuleInit(): void {
    this.changes.subscribe(async (organizationId) => void (await this.move(organizationId)));
    this.redis.client?.on('ready', () => void this.retryPending());
  }

  async current(organizationId: string): Promise<Generation> {
    if (!this.circuit.enabled) return { value: this.memory.get(organizationId) ?? 0, known: true };
    const lastSeen = { value: this.memory.get(organizationId) ?? 0, known: false };
    if (this.pending.has(organizationId) && !(await this.move(organizationId))) return lastSeen;
    try {
      const stored = await this.circuit.run(() => this.redis.client!.get(generationKey(this.config.REDIS_KEY_PREFIX, organizationId)));
      const value = stored === null ? 0 : Number(stored);
      this.memory.set(organizationId, value);
      return { value, known: true };
    } catch {
      return lastSeen;
    }
  }

  /** Moves the organization's generation; never throws (writes call it after commit). True when it moved. */
  async move(organizationId: string): Promise<boolean> {
    if (!this.circuit.enabled) {
      this.memory.set(organizationId, (this.memory.get(organizationId) ?? 0) + 1);
      return true;
    }
    try {
      await this.circuit.run(() => this.redis.client!.incr(generationKey(this.config.REDIS_KEY_PREFIX, organizationId)));
      this.pending.delete(organizationId);
      return true;
    } catch (error) {
      // Logged once per organization and outage, not once per write.
      if (!this.pending.has(organizationId)) {
        this.logger.warn(`Could not invalidate the metrics cache of ${organizationId} (retried when Redis returns): ${(error as Error).message}`);
      }
      this.pending.add(organizationId);
      return false;
    }
  }

  private async retryPending(): Promise<void> {
    for (const organizationId of [...this.pending]) await this.move(organizationId);
  }
}
