import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { organizationTag } from '../cache/cache-keys.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';

/** A slot is held this long unless its instance renews it: a crashed instance's streams stop counting after this. */
export const SLOT_LEASE_MS = 30_000;
/** Each instance renews its open streams' slots this often. */
export const SLOT_RENEW_MS = 10_000;
const REDIS_TIMEOUT_MS = 250;

/** Drops expired slots, then takes one if fewer than the limit are held. Redis's own clock: instances' clocks may differ. */
const ACQUIRE_SCRIPT = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Pushes the expiry of this instance's slots forward (re-adding any a Redis restart lost: those streams are open). */
const RENEW_SCRIPT = `local time = redis.call('TIME')
local until_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], until_ms, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1`;

/**
 * At most STREAM_MAX_PER_ORGANIZATION open streams per organization across every instance: one sorted set per
 * organization in Redis (stream id → lease expiry), taken atomically, renewed while the stream is open, removed when it
 * closes. Without Redis (embedded, or Redis away) each instance counts its own streams, so a stream is never refused
 * because Redis is down.
 */
@Injectable()
export class StreamSlots {
  private readonly logger = new Logger('MetricsStream');
  /** This instance's open streams by organization (with Redis too: what it renews). */
  private readonly local = new Map<string, Set<string>>();
  /** Logged once per outage, not once per stream. */
  private degraded = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
  ) {}

  key(organizationId: string): string {
    return `${this.config.REDIS_KEY_PREFIX}:streams:${organizationTag(organizationId)}`;
  }

  /** True when the stream may open (its slot is taken); false when the organization already has the maximum open. */
  async acquire(organizationId: string, streamId: string): Promise<boolean> {
    const max = this.config.STREAM_MAX_PER_ORGANIZATION;
    const mine = this.local.get(organizationId) ?? new Set<string>();
    let granted: boolean;
    try {
      const client = this.redis.client;
      if (!client?.isReady) throw new Error('Redis is not connected');
      const reply = await withTimeout(client.eval(ACQUIRE_SCRIPT, { keys: [this.key(organizationId)], arguments: [String(max), String(SLOT_LEASE_MS), streamId] }), REDIS_TIMEOUT_MS);
      granted = Number(reply) === 1;
      this.degraded = false;
    } catch (error) {
      if (this.redis.enabled && !this.degraded) this.logger.warn(`Stream slots counted on this instance only until Redis answers: ${(error as Error).message}`);
      this.degraded = this.redis.enabled;
      granted = mine.size < max;
    }
    if (!granted) return false;
    mine.add(streamId);
    this.local.set(organizationId, mine);
    return true;
  }

  async release(organizationId: string, streamId: string): Promise<void> {
    const mine = this.local.get(organizationId);
    mine?.delete(streamId);
    if (mine?.size === 0) this.local.delete(organizationId);
    const client = this.redis.client;
    if (!client?.isReady) return;
    // A slot left behind expires with its lease.
    await withTimeout(client.zRem(this.key(organizationId), streamId), REDIS_TIMEOUT_MS).catch(() => undefined);
  }

  /** Renews every slot this instance holds: one call per organization with open streams. */
  async renew(): Promise<void> {
    const client = this.redis.client;
    if (!client?.isReady) return;
    await Promise.all(
      [...this.local].map(([organizationId, ids]) =>
        withTimeout(client.eval(RENEW_SCRIPT, { keys: [this.key(organizationId)], arguments: [String(SLOT_LEASE_MS), ...ids] }), REDIS_TIMEOUT_MS).catch(() => undefined),
      ),
    );
  }
}
