import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';

/** Counts up, and starts the fixed window on the first count; returns {count, ms until the window ends}. */
const RESERVE_SCRIPT = `local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;
/** Gives one count back, never below zero and never creating a window. */
const REFUND_SCRIPT = `if (tonumber(redis.call('GET', KEYS[1])) or 0) > 0 then return redis.call('DECR', KEYS[1]) end
return 0`;
const MAX_MEMORY_ENTRIES = 100_000;

export interface Reservation {
  /** The count including this one. */
  count: number;
  /** When the window ends, ms since the epoch. */
  resetAt: number;
}

/**
 * Fixed-window counters of failed logins, in Redis so every instance shares them (keys under REDIS_KEY_PREFIX), in
 * process memory without Redis or while it fails. A login reserves a count before the password is checked and gives
 * it back when the password was right, so concurrent attempts can never slip past a limit between check and count.
 */
@Injectable()
export class FailureCounters {
  private readonly logger = new Logger('LoginLimits');
  private readonly memory = new Map<string, { count: number; resetAt: number }>();
  private degraded = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async reserve(key: string, windowMs: number): Promise<Reservation> {
    if (this.redis.isReady) {
      try {
        const reply = (await withTimeout(
          this.redis.client!.eval(RESERVE_SCRIPT, { keys: [this.redisKey(key)], arguments: [String(windowMs)] }),
          this.config.RATE_LIMIT_REDIS_TIMEOUT_MS,
        )) as [number, number];
        this.recovered();
        return { count: Number(reply[0]), resetAt: this.clock.now() + Number(reply[1]) };
      } catch (error) {
        this.fellBack((error as Error).message);
      }
    } else if (this.redis.enabled) {
      this.fellBack('Redis is not connected');
    }
    return this.reserveInMemory(key, windowMs);
  }

  async refund(key: string): Promise<void> {
    const local = this.memory.get(key);
    if (local && local.count > 0 && local.resetAt > this.clock.now()) local.count -= 1;
    if (!this.redis.isReady) return;
    await withTimeout(this.redis.client!.eval(REFUND_SCRIPT, { keys: [this.redisKey(key)] }), this.config.RATE_LIMIT_REDIS_TIMEOUT_MS).catch(() => undefined);
  }

  private redisKey(key: string): string {
    return `${this.config.REDIS_KEY_PREFIX}:login:${key}`;
  }

  private reserveInMemory(key: string, windowMs: number): Reservation {
    const now = this.clock.now();
    let entry = this.memory.get(key);
    if (!entry || entry.resetAt <= now) {
      this.memory.delete(key);
      if (this.memory.size >= MAX_MEMORY_ENTRIES) {
        for (const [old, value] of this.memory) if (value.resetAt <= now) this.memory.delete(old);
        if (this.memory.size >= MAX_MEMORY_ENTRIES) this.memory.delete(this.memory.keys().next().value as string);
      }
      entry = { count: 0, resetAt: now + windowMs };
      this.memory.set(key, entry);
    }
    entry.count += 1;
    return { count: entry.count, resetAt: entry.resetAt };
  }

  private fellBack(reason: string): void {
    if (this.degraded || !this.redis.enabled) return;
    this.degraded = true;
    this.logger.warn(`Login limits count in process memory until Redis answers again: ${reason}`);
  }

  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.log('Login limits are back on Redis');
  }
}
