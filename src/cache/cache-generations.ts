import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { ReadReplicas } from '../database/read-replicas.js';
import { RedisConnection } from '../redis/redis-connection.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { generationKey, lastWriteKey } from './cache-keys.js';
import { GenerationChannel } from './generation-channel.js';
import { CACHE_CALL_TIMEOUT_MS, RedisCircuit } from './redis-circuit.js';

export interface Generation {
  value: number;
  /** False when Redis could not be asked: the cache must not be read or written for this organization now. */
  known: boolean;
  /**
   * The primary's WAL position (decimal bytes) after the organization's last write, when read replicas are in use and
   * one is recorded: a result computed on a replica that has not replayed it must not be stored under this generation.
   */
  lastWrite: string | null;
}

/** At most this many organizations' current generations are kept in process memory (oldest learnt forgotten first). */
const MAX_KNOWN_ORGANIZATIONS = 10_000;

/**
 * How long a write waits for its move. A write answers after its move, and other instances learn of the write only
 * from it, so a Redis slow to take writes is waited for longer than a read waits for the cache (CACHE_CALL_TIMEOUT_MS);
 * a hung one costs one write this long, then the circuit skips Redis and the move is left pending.
 */
const MOVE_TIMEOUT_MS = 2_000;

/**
 * While a move is pending it is also retried this often: a Redis that refused it without dropping the connection (a
 * write refused, a reply lost) brings no reconnect, and other instances would keep the old generation until a read.
 */
const PENDING_RETRY_MS = 1_000;

/**
 * One counter per organization, part of every cache key: moving it orphans all of the organization's
 * entries at once (they expire by TTL), without scanning keys and without touching other organizations.
 * In Redis (INCR) so every instance sees it; in process memory in the embedded mode.
 */
@Injectable()
export class CacheGenerations implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('MetricsCache');
  /** The embedded mode's counters; with Redis, the last value read (named in cache_key while Redis is away). */
  private readonly memory = new Map<string, number>();
  /** The embedded-Redis mode's last write positions (replicas with no Redis: one instance). */
  private readonly memoryWrites = new Map<string, string>();
  /** Organizations whose move failed (Redis away or refusing it): retried before their next read, on reconnect, every second. */
  private readonly pending = new Set<string>();
  private retryTimer?: NodeJS.Timeout;
  private retrying?: Promise<void>;
  private closed = false;
  /** With Redis: generations known to be current, learnt while the channel was live (cleared when it is not). */
  private readonly fresh = new Map<string, number>();

  constructor(
    private readonly circuit: RedisCircuit,
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly changes: ChangeNotifier,
    private readonly channel: GenerationChannel,
    private readonly replicas: ReadReplicas,
  ) {}

  onModuleInit(): void {
    this.changes.subscribe(async (organizationId) => void (await this.move(organizationId)));
    this.redis.onReady(() => void this.retryPending());
    this.channel.listen({
      moved: (organizationId, generation) => this.learn(organizationId, generation, this.channel.epoch),
      lost: () => this.fresh.clear(),
    });
  }

  onModuleDestroy(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  /**
   * The organization's current generation when this instance knows it without asking Redis, else undefined.
   * Known in the embedded mode always; with Redis while the channel is live and no move of ours is pending.
   */
  knownCurrent(organizationId: string): number | undefined {
    if (!this.circuit.enabled) return this.memory.get(organizationId) ?? 0;
    if (!this.channel.live || this.pending.has(organizationId)) return undefined;
    return this.fresh.get(organizationId);
  }

  async current(organizationId: string): Promise<Generation> {
    if (!this.circuit.enabled) {
      return { value: this.memory.get(organizationId) ?? 0, known: true, lastWrite: this.memoryWrites.get(organizationId) ?? null };
    }
    const lastSeen = { value: this.memory.get(organizationId) ?? 0, known: false, lastWrite: null };
    // A read retries a pending move only as long as it would wait for the cache: without it, the figures come fresh from the primary.
    if (this.pending.has(organizationId) && !(await this.move(organizationId, CACHE_CALL_TIMEOUT_MS))) return lastSeen;
    const epoch = this.channel.epoch;
    const prefix = this.config.REDIS_KEY_PREFIX;
    try {
      // One round trip for both (same hash tag, so one slot in a Redis Cluster too).
      const [stored, lastWrite] = await this.circuit.run(() =>
        this.redis.client!.mGet([generationKey(prefix, organizationId), lastWriteKey(prefix, organizationId)]),
      );
      const value = stored === null ? 0 : Number(stored);
      this.memory.set(organizationId, value);
      this.learn(organizationId, value, epoch);
      return { value, known: true, lastWrite: lastWrite ?? null };
    } catch {
      return lastSeen;
    }
  }

  /** Moves the organization's generation; never throws (writes call it after commit). True when it moved. */
  async move(organizationId: string, timeoutMs = MOVE_TIMEOUT_MS): Promise<boolean> {
    if (!this.circuit.enabled) return this.moveInMemory(organizationId);
    // Until the move is known to have happened, this instance must not serve the organization from process memory.
    this.fresh.delete(organizationId);
    const epoch = this.channel.epoch;
    try {
      // Taken after the write committed (writes notify after commit): a replica that replayed it has the write.
      const writePosition = await this.replicas.primaryPosition();
      // Resolves once Redis has published the move to every subscribed instance (see docs/caching.md).
      const value = await this.circuit.run(() => this.channel.move(organizationId, writePosition), timeoutMs);
      this.pending.delete(organizationId);
      this.learn(organizationId, value, epoch);
      return true;
    } catch (error) {
      // Logged once per organization and outage, not once per write.
      if (!this.pending.has(organizationId)) {
        this.logger.warn(`Could not invalidate the metrics cache of ${organizationId} (retried every second until Redis takes it): ${(error as Error).message}`);
      }
      this.pending.add(organizationId);
      this.scheduleRetry();
      return false;
    }
  }

  private async moveInMemory(organizationId: string): Promise<boolean> {
    const value = (this.memory.get(organizationId) ?? 0) + 1;
    this.memory.set(organizationId, value);
    try {
      const writePosition = await this.replicas.primaryPosition();
      const known = this.memoryWrites.get(organizationId);
      if (writePosition !== null && (known === undefined || BigInt(writePosition) > BigInt(known))) this.memoryWrites.set(organizationId, writePosition);
    } catch {
      // The primary could not say where it is: no replica may serve this organization until its next write.
      this.memoryWrites.set(organizationId, String(Number.MAX_SAFE_INTEGER));
    }
    // Without Redis the only listeners (live streams) are in this process; told once the write position is known.
    this.channel.announceLocal(organizationId, value);
    return true;
  }

  /**
   * Keeps the highest value seen, and only what was read or heard while the channel stayed live. Generations only
   * grow; a lower one means the counter was lost (FLUSHALL, a failover), and its values, hence keys, will come
   * again: everything learnt is dropped, hit responses included. (A read that crossed a move also lands here: a
   * needless but harmless reset.)
   */
  private learn(organizationId: string, value: number, epoch: number): void {
    if (!this.channel.live || this.channel.epoch !== epoch) return;
    const known = this.fresh.get(organizationId);
    if (known !== undefined && value < known) return this.channel.forgetAll();
    if (known === value) return;
    this.fresh.delete(organizationId);
    if (this.fresh.size >= MAX_KNOWN_ORGANIZATIONS) this.fresh.delete(this.fresh.keys().next().value as string);
    this.fresh.set(organizationId, value);
  }

  /**
   * One pass over the pending moves at a time (reconnect and timer may both ask). It stops at the first that fails
   * again, Redis being still unavailable (each try asks the primary its WAL position); that failure schedules the next.
   * A move that failed while a pass was under way is not in the pass: what is still pending at its end is scheduled;
   * one made meanwhile (a read's retry, a newer write's move) is not made again.
   */
  private retryPending(): Promise<void> {
    // Cleared in a reaction, never synchronously: a pass with nothing to move ends before `??=` would store it, and
    // clearing first would leave that settled pass in place, every later pass skipped.
    this.retrying ??= this.retryPass().finally(() => {
      this.retrying = undefined;
      if (this.pending.size > 0) this.scheduleRetry();
    });
    return this.retrying;
  }

  private async retryPass(): Promise<void> {
    for (const organizationId of [...this.pending]) {
      if (this.pending.has(organizationId) && !(await this.move(organizationId))) break;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryPending();
    }, PENDING_RETRY_MS);
    this.retryTimer.unref();
  }
}
