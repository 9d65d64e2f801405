import { ServiceUnavailableProblem } from '../errors/api-errors.js';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';

const HEARTBEAT_MS = 1_000;
const HEARTBEAT_TIMEOUT_MS = 250;
const SETTLE_BEFORE_CLOSE_MS = 1_000;
const REDIS_TIMEOUT_MS = 500;
/** After a failed check, requests skip Redis this long, so a hung Redis costs one timeout, not one per request. */
const RETRY_REDIS_AFTER_MS = 1_000;
/** Revoked token ids kept in process memory at most (each until its token would have expired anyway). */
const MAX_LOCAL_REVOKED = 200_000;

/** Adds the token id to the revoked set (scored by its expiry), drops expired ids, and tells every instance, in one atomic step. */
const REVOKE_SCRIPT = `redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
redis.call('PUBLISH', ARGV[4], 't ' .. ARGV[1] .. ' ' .. ARGV[2])
return 1`;

export interface RevocationListener {
  /** A token id was revoked (a logout), here or on another instance. */
  tokenRevoked?(tokenId: string): void;
  /** A user's role, password or active state changed: what was cached about them is stale. */
  principalChanged?(organizationId: string, userId: string): void;
  /** Messages may have been missed: forget everything learnt from them. */
  lost?(): void;
}

/**
 * Token revocation shared by every instance. Logged-out token ids live in a Redis sorted set (scored by the token's
 * expiry) and each instance keeps a copy in memory, kept current by pub/sub on a connection of its own and reloaded
 * whenever that subscription is (re)established; principal changes travel on the same channel. While the copy is
 * complete (`live`), a check costs no I/O, which the cached-hit fast path relies on; otherwise the set in Redis is
 * asked. Without Redis (embedded mode) there is one instance and the memory copy is the whole truth.
 */
@Injectable()
export class RevocationChannel implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Auth');
  private readonly revoked = new Map<string, number>();
  private readonly listeners: RevocationListener[] = [];
  /** Logouts waiting for their own message to come back through this instance's subscription. */
  private readonly echoes = new Map<string, () => void>();
  private subscriber: RedisClientType | null = null;
  private subscribed = false;
  private healthy = false;
  private heartbeat?: NodeJS.Timeout;
  private closing = false;
  private connecting?: Promise<void>;
  private epoch = 0;
  private skipRedisUntil = 0;
  /** Until then the memory copy lacks a revoked id it had to drop (the bound below): Redis is asked instead. */
  private incompleteUntil = 0;
  /** Revoked ids kept in memory at most; past it the earliest kept is dropped and the copy is incomplete until it expires. */
  maxLocalRevoked = MAX_LOCAL_REVOKED;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  get channel(): string {
    return `${this.config.REDIS_KEY_PREFIX}:auth:revocations`;
  }

  private get setKey(): string {
    return `${this.config.REDIS_KEY_PREFIX}:auth:revoked`;
  }

  /**
   * True while every revocation made by any instance has reached this one and is still held: local answers are then
   * complete. A revoked id dropped at the memory bound makes them incomplete until its token would have expired.
   */
  get live(): boolean {
    return !this.redis.enabled || (this.healthy && this.redis.isReady && this.clock.now() >= this.incompleteUntil);
  }

  /** Registers a listener; the returned function removes it (a stream that ends must not stay registered). */
  listen(listener: RevocationListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Whether this instance knows the token id to be revoked, without I/O. */
  isRevokedLocally(tokenId: string): boolean {
    const expiresAt = this.revoked.get(tokenId);
    if (expiresAt === undefined) return false;
    if (expiresAt > this.clock.now()) return true;
    this.revoked.delete(tokenId);
    return false;
  }

  /** Whether the token id is revoked: from memory while live, else from Redis (memory again if Redis fails). */
  async isRevoked(tokenId: string): Promise<boolean> {
    if (this.isRevokedLocally(tokenId)) return true;
    // Redis down or failing: memory is all there is, and requests must not wait on Redis one by one.
    if (this.live || !this.redis.isReady || performance.now() < this.skipRedisUntil) return false;
    try {
      const score = await withTimeout(this.redis.client!.zScore(this.setKey, tokenId), this.config.RATE_LIMIT_REDIS_TIMEOUT_MS);
      return score !== null && score > this.clock.now();
    } catch {
      this.skipRedisUntil = performance.now() + RETRY_REDIS_AFTER_MS;
      return false;
    }
  }

  /** Revokes one token (logout) on every instance; resolves once Redis has it and every subscribed instance was sent it, else 503. */
  async revokeToken(tokenId: string, expiresAt: number): Promise<void> {
    if (!this.redis.enabled) return this.remember(tokenId, expiresAt);
    // Redis may write the script's reply before the message to the other subscribers: answering once the message is back
    // here means Redis has written it to every subscriber (one pass over its clients), so the next request anywhere sees it.
    const echoed = this.live ? this.echoOf(tokenId) : undefined;
    try {
      await withTimeout(
        this.redis.client!.eval(REVOKE_SCRIPT, { keys: [this.setKey], arguments: [tokenId, String(expiresAt), String(this.clock.now()), this.channel] }),
        REDIS_TIMEOUT_MS,
      );
    } catch (error) {
      this.echoes.get(tokenId)?.();
      // Not revoked anywhere, this instance included: the client's retry (here or elsewhere) does the whole logout.
      this.logger.warn(`A revoked token could not be shared through Redis: ${(error as Error).message}`);
      throw new ServiceUnavailableProblem('The logout could not reach every instance; try again', 1);
    }
    this.remember(tokenId, expiresAt);
    await echoed;
  }

  /** Resolves when this instance's subscription delivers the token's revocation, or after REDIS_TIMEOUT_MS (never rejects). */
  private echoOf(tokenId: string): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.echoes.get(tokenId) === done) this.echoes.delete(tokenId);
        resolve();
      };
      const timer = setTimeout(done, REDIS_TIMEOUT_MS);
      timer.unref();
      this.echoes.get(tokenId)?.();
      this.echoes.set(tokenId, done);
    });
  }

  /** A user's tokens issued before now stopped working (the database says so): every instance forgets what it cached. */
  async principalChanged(organizationId: string, userId: string): Promise<void> {
    for (const listener of this.listeners) listener.principalChanged?.(organizationId, userId);
    if (!this.redis.enabled) return;
    // Other instances re-read the user within the principal cache's lifetime even if this message is lost.
    await withTimeout(this.redis.client!.publish(this.channel, `u ${organizationId} ${userId}`), REDIS_TIMEOUT_MS).catch(() => undefined);
  }

  onModuleInit(): void {
    const main = this.redis.client;
    if (!main) return;
    const subscriber = main.duplicate() as RedisClientType;
    this.subscriber = subscriber;
    subscriber.on('error', () => this.setHealthy(false));
    subscriber.on('end', () => this.setHealthy(false));
    // After a reconnect the client re-subscribes before it reports ready; the heartbeat then reloads the set.
    subscriber.on('ready', () => this.setHealthy(false));
    this.connecting = subscriber
      .connect()
      .then(async () => {
        if (this.closing) return;
        await subscriber.subscribe(this.channel, (message) => this.receive(message));
        this.subscribed = true;
        await this.probe();
      })
      .catch((error: Error) => {
        if (!this.closing) this.logger.warn(`Token revocation channel not subscribed (each check asks Redis instead): ${error.message}`);
      });
    this.heartbeat = setInterval(() => void this.probe(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.setHealthy(false);
    const subscriber = this.subscriber;
    if (!subscriber) return;
    // In a Redis Cluster the duplicate is a cluster, which has no unref(): calling it threw and left it reconnecting.
    if (typeof subscriber.unref === 'function') subscriber.unref();
    await Promise.race([this.connecting, delay(SETTLE_BEFORE_CLOSE_MS, undefined, { ref: false })]);
    if (subscriber.isOpen) subscriber.destroy();
  }

  private remember(tokenId: string, expiresAt: number): void {
    // Without Redis the memory copy is the whole truth and is never cut (one instance; logins, hashed, bound its growth).
    if (this.redis.enabled && this.revoked.size >= this.maxLocalRevoked && !this.revoked.has(tokenId)) {
      const now = this.clock.now();
      for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
      while (this.revoked.size >= this.maxLocalRevoked) {
        const [id, until] = this.revoked.entries().next().value as [string, number];
        this.revoked.delete(id);
        this.incompleteUntil = Math.max(this.incompleteUntil, until);
      }
    }
    const known = this.revoked.has(tokenId);
    this.revoked.set(tokenId, expiresAt);
    // A reload after a reconnect brings back mostly ids already held: only new ones are news to the listeners (streams).
    if (!known) for (const listener of this.listeners) listener.tokenRevoked?.(tokenId);
  }

  private receive(message: string): void {
    const [kind, first, second] = message.split(' ');
    if (kind === 't' && first && Number.isFinite(Number(second))) {
      this.remember(first, Number(second));
      this.echoes.get(first)?.();
    }
    else if (kind === 'u' && first && second) for (const listener of this.listeners) listener.principalChanged?.(first, second);
  }

  /** PING on the subscribed connection, then (when not yet live) a reload of the revoked set: live only when both answered. */
  private async probe(): Promise<void> {
    const subscriber = this.subscriber;
    const main = this.redis.client;
    if (!subscriber || !main || !this.subscribed || !subscriber.isReady || this.closing) return;
    const epoch = this.epoch;
    try {
      await withTimeout(subscriber.ping(), HEARTBEAT_TIMEOUT_MS);
      if (!this.healthy) {
        // Subscribed first, loaded second: a revocation made in between arrives by message, one made before is in the set.
        const entries = await withTimeout(main.zRangeByScoreWithScores(this.setKey, this.clock.now(), '+inf'), REDIS_TIMEOUT_MS);
        if (this.epoch !== epoch) return;
        for (const { value, score } of entries) this.remember(value, score);
      }
      if (this.epoch === epoch && subscriber.isReady) this.setHealthy(true);
    } catch {
      this.setHealthy(false);
    }
  }

  private setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) {
      if (!healthy) this.epoch++;
      return;
    }
    this.healthy = healthy;
    this.epoch++;
    if (!healthy) for (const listener of this.listeners) listener.lost?.();
  }
}
