import { Injectable, Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { performance } from 'node:perf_hooks';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { PENALTY_CAP_MS, VIOLATION_MEMORY_MS } from './rate-limit-policy.js';
import { RATE_LIMIT_REFUND_SCRIPT, RATE_LIMIT_SCRIPT, RATE_LIMIT_SCRIPT_SHA } from './rate-limit-script.js';
import { RateLimitStats } from './rate-limit-stats.js';
import { HitOutcome, RateLimitHit, RateLimitRecord, toRecord } from './rate-limit-window.js';

/** After a Redis failure, requests skip Redis this long (wall time), so a hung Redis costs one timeout, not one per request. */
const RETRY_REDIS_AFTER_MS = 1_000;

/**
 * The throttler's storage: one budget in Redis shared by every instance, or process memory in the embedded
 * mode. When Redis fails, it counts in memory (logged once per outage, counted in RateLimitStats) and goes
 * back to Redis by itself: a Redis outage never refuses a request.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimit');
  private readonly memory = new MemoryRateLimitStore();
  private skipRedisUntil = 0;
  private ready?: Promise<void>;
  private resolveReady?: () => void;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly stats: RateLimitStats,
  ) {
    // A reconnected client is worth asking at once, whatever the last failure was.
    redis.onReady(() => {
      this.skipRedisUntil = 0;
      this.resolveReady?.();
      this.ready = this.resolveReady = undefined;
    });
  }

  /** key: "{subject}:endpoint" from the guard; ttl, the window, and blockDuration, the first penalty, in ms. */
  async increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<RateLimitRecord> {
    const hit: RateLimitHit = {
      now: this.clock.now(),
      limit,
      windowMs: ttl,
      basePenaltyMs: blockDuration,
      capMs: PENALTY_CAP_MS,
      violationMemoryMs: VIOLATION_MEMORY_MS,
    };
    return toRecord(await this.hit(key, hit), hit.now);
  }

  /** Gives one counted request back (login counts only failures: a right password refunds its attempt). */
  async refund(key: string): Promise<void> {
    const now = this.clock.now();
    this.memory.refund(key, now);
    if (!this.redis.isReady || performance.now() < this.skipRedisUntil) return;
    const redisKey = `${this.config.REDIS_KEY_PREFIX}:rl:${key}`;
    await withTimeout(this.redis.client!.eval(RATE_LIMIT_REFUND_SCRIPT, { keys: [redisKey], arguments: [String(now)] }), this.config.RATE_LIMIT_REDIS_TIMEOUT_MS).catch(
      () => undefined,
    );
  }

  private async hit(key: string, hit: RateLimitHit): Promise<HitOutcome> {
    if (!this.redis.enabled) return this.memory.hit(key, hit);
    if (performance.now() < this.skipRedisUntil) return this.fallBack(key, hit, 'Redis failed less than a second ago');
    try {
      // A reconnect within the deadline (a dropped idle socket, a blip) costs a short wait, not a per-instance budget;
      // a later one must not count in Redis a request already counted in memory.
      const timeoutMs = this.config.RATE_LIMIT_REDIS_TIMEOUT_MS;
      const deadline = performance.now() + timeoutMs;
      const outcome = await withTimeout(
        this.whenReady().then(() => (performance.now() <= deadline ? this.runScript(key, hit) : Promise.reject(new Error('Redis reconnected too late')))),
        timeoutMs,
      );
      if (this.stats.redisDegraded) {
        this.stats.setRedisDegraded(false);
        this.logger.log('Rate limiting is back on Redis: budgets are shared by every instance again');
      }
      return outcome;
    } catch (error) {
      this.skipRedisUntil = performance.now() + RETRY_REDIS_AFTER_MS;
      return this.fallBack(key, hit, (error as Error).message);
    }
  }

  private fallBack(key: string, hit: RateLimitHit, reason: string): HitOutcome {
    this.stats.recordFallback();
    if (!this.stats.redisDegraded) {
      this.stats.setRedisDegraded(true);
      this.logger.warn(`Rate limiting falls back to process memory (budgets per instance until Redis returns): ${reason}`);
    }
    return this.memory.hit(key, hit);
  }

  private whenReady(): Promise<void> {
    if (this.redis.isReady) return Promise.resolve();
    // One shared promise however many requests wait.
    this.ready ??= new Promise<void>((resolve) => (this.resolveReady = resolve));
    return this.ready;
  }

  private async runScript(key: string, hit: RateLimitHit): Promise<HitOutcome> {
    const client = this.redis.client!;
    const redisKey = `${this.config.REDIS_KEY_PREFIX}:rl:${key}`;
    const options = {
      keys: [redisKey, `${redisKey}:v`],
      arguments: [hit.now, hit.windowMs, hit.limit, hit.basePenaltyMs, hit.capMs, hit.violationMemoryMs].map(String),
    };
    try {
      return (await client.evalSha(RATE_LIMIT_SCRIPT_SHA, options)) as HitOutcome;
    } catch (error) {
      // A fresh or restarted Redis has no script cache: EVAL runs the script and caches it, on the node that owns the keys
      // (SCRIPT LOAD would go to an arbitrary node of a cluster).
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await client.eval(RATE_LIMIT_SCRIPT, options)) as HitOutcome;
    }
  }
}
