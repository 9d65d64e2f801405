import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppConfig } from '../config/app-config.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';
import { generationKey } from './cache-keys.js';

/** How often the subscriber connection is probed: a hung Redis (no socket error) is noticed within about this plus the timeout. */
export const CHANNEL_HEARTBEAT_MS = 1_000;
const HEARTBEAT_TIMEOUT_MS = 250;
/** The Redis client's connect timeout: how long a connect under way may take to settle at shutdown. */
const SETTLE_BEFORE_CLOSE_MS = 1_000;

/** INCR and PUBLISH in one atomic step: a generation never moves without every subscribed instance being told. */
const MOVE_SCRIPT = `local value = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], 'g ' .. ARGV[2] .. ' ' .. value)
return value`;

export interface ChannelListener {
  /** Another instance (or this one) moved an organization's generation to this value. */
  moved?(organizationId: string, generation: number): void;
  /** Another instance stored a new entry under this key (a force refresh): a copy held here is older. */
  replaced?(key: string): void;
  /** From now until `live` is true again, messages may be missed: forget whatever was learnt. */
  lost?(): void;
}

/**
 * How instances tell each other that an organization's generation moved, so that each may keep the current
 * generation (and hit responses under it) in process memory: Redis pub/sub on one channel under
 * REDIS_KEY_PREFIX, received on a connection of its own (a subscribed connection runs no other commands).
 * `live` is true only while that subscription is in place and answering; every loss is announced, and
 * `epoch` changes with each loss and recovery, so a value read before a loss is never trusted after it.
 * In the embedded mode (no Redis) there is one instance and nothing to hear: always live.
 */
@Injectable()
export class GenerationChannel implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('MetricsCache');
  private readonly instanceId = randomUUID();
  private readonly listeners: ChannelListener[] = [];
  private subscriber: RedisClientType | null = null;
  private subscribed = false;
  private healthy = false;
  private heartbeat?: NodeJS.Timeout;
  private closing = false;
  private connecting?: Promise<void>;
  /** Changes whenever `live` changes. */
  epoch = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
  ) {}

  get channel(): string {
    return `${this.config.REDIS_KEY_PREFIX}:metrics:generations`;
  }

  /** True when every move made by any instance since `epoch` began has reached (or will reach before any later reply) this one. */
  get live(): boolean {
    return !this.redis.enabled || (this.healthy && this.redis.isReady);
  }

  listen(listener: ChannelListener): void {
    this.listeners.push(listener);
  }

  onModuleInit(): void {
    const main = this.redis.client;
    if (!main) return;
    const subscriber = main.duplicate() as RedisClientType;
    this.subscriber = subscriber;
    subscriber.on('error', () => this.setHealthy(false));
    subscriber.on('end', () => this.setHealthy(false));
    // After a reconnect the client re-subscribes before it reports ready: messages flow again from here on.
    subscriber.on('ready', () => this.setHealthy(this.subscribed));
    this.connecting = subscriber
      .connect()
      .then(async () => {
        if (this.closing) return;
        await subscriber.subscribe(this.channel, (message) => this.receive(message));
        this.subscribed = true;
        this.setHealthy(subscriber.isReady);
      })
      .catch((error: Error) => {
        if (!this.closing) this.logger.warn(`Cache invalidation channel not subscribed (the in-process cache stays off): ${error.message}`);
      });
    this.heartbeat = setInterval(() => void this.probe(), CHANNEL_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.setHealthy(false);
    const subscriber = this.subscriber;
    if (!subscriber) return;
    // A connect still under way would open its socket after a destroy (an app closed right after it started): let it
    // settle first, for at most the connect timeout, and never let a late socket keep the process alive.
    subscriber.unref();
    await Promise.race([this.connecting, delay(SETTLE_BEFORE_CLOSE_MS, undefined, { ref: false })]);
    // Nothing a subscribed connection has in flight is worth waiting for.
    if (subscriber.isOpen) subscriber.destroy();
  }

  /** Moves the organization's generation in Redis and tells every instance; resolves to the new value once both are done. */
  async move(organizationId: string): Promise<number> {
    const reply = await this.redis.client!.eval(MOVE_SCRIPT, {
      keys: [generationKey(this.config.REDIS_KEY_PREFIX, organizationId)],
      arguments: [this.channel, organizationId],
    });
    return Number(reply);
  }

  /** In the embedded mode no Redis carries a move: the one instance's listeners hear its own moves here instead. */
  announceLocal(organizationId: string, generation: number): void {
    if (this.redis.enabled) return;
    for (const listener of this.listeners) listener.moved?.(organizationId, generation);
  }

  /** Tells the other instances that this key now holds a newer entry. */
  async replaced(key: string): Promise<void> {
    await this.redis.client!.publish(this.channel, `r ${this.instanceId} ${key}`);
  }

  private receive(message: string): void {
    if (!this.live) return;
    const [kind, first, rest] = splitMessage(message);
    if (kind === 'g') {
      const generation = Number(rest);
      if (Number.isSafeInteger(generation)) for (const listener of this.listeners) listener.moved?.(first, generation);
    } else if (kind === 'r' && first !== this.instanceId) {
      for (const listener of this.listeners) listener.replaced?.(rest);
    }
  }

  /** PING on the subscribed connection: a Redis that stopped answering (no socket error) must not keep the channel live. */
  private async probe(): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber || !this.subscribed || !subscriber.isReady || this.closing) return;
    const epoch = this.epoch;
    try {
      await withTimeout(subscriber.ping(), HEARTBEAT_TIMEOUT_MS);
      // Replies come in order: every message published before this PONG has been received.
      if (this.epoch === epoch && subscriber.isReady) this.setHealthy(true);
    } catch {
      this.setHealthy(false);
    }
  }

  /** Whatever was learnt may be wrong (a generation went backwards: Redis was flushed or failed over): start again. */
  forgetAll(): void {
    this.epoch++;
    for (const listener of this.listeners) listener.lost?.();
  }

  private setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    this.epoch++;
    if (!healthy) for (const listener of this.listeners) listener.lost?.();
  }
}

/** "g <organization> <generation>" or "r <instance> <key>"; the key, last, may hold spaces. */
function splitMessage(message: string): [string, string, string] {
  const first = message.indexOf(' ');
  const second = message.indexOf(' ', first + 1);
  if (first < 0 || second < 0) return ['', '', ''];
  return [message.slice(0, first), message.slice(first + 1, second), message.slice(second + 1)];
}
