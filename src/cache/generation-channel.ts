import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import calculateSlot from 'cluster-key-slot';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppConfig } from '../config/app-config.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';
import { generationKey, lastWriteKey } from './cache-keys.js';

/** How often the subscriber connection is probed: a hung Redis (no socket error) is noticed within about this plus the timeout. */
export const CHANNEL_HEARTBEAT_MS = 1_000;
const HEARTBEAT_TIMEOUT_MS = 250;
/** The Redis client's connect timeout: how long a connect under way may take to settle at shutdown. */
const SETTLE_BEFORE_CLOSE_MS = 1_000;

/**
 * INCR and PUBLISH in one atomic step: a generation never moves without every subscribed instance being told. With
 * a WAL position (ARGV[3], read replicas configured) the organization's last write position moves with it, never
 * backwards (two writes' moves may arrive in either order). Both keys carry the organization's hash tag: one slot.
 */
const MOVE_SCRIPT = `local value = redis.call('INCR', KEYS[1])
if ARGV[3] ~= '' then
  local known = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  if tonumber(ARGV[3]) > known then redis.call('SET', KEYS[2], ARGV[3]) end
end
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
 * REDIS_KEY_PREFIX, received on a connection of its own (a subscribed connection runs no other commands), or on one
 * to each master of a Redis Cluster. `live` is true only while every subscription is in place and answering; every loss is announced, and
 * `epoch` changes with each loss and recovery, so a value read before a loss is never trusted after it.
 * In the embedded mode (no Redis) there is one instance and nothing to hear: always live.
 */
@Injectable()
export class GenerationChannel implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('MetricsCache');
  private readonly instanceId = randomUUID();
  private readonly listeners: ChannelListener[] = [];
  /** One subscribed connection to Redis, or one to each master of a Redis Cluster (see `subscribe`). */
  private subscribers: Subscriber[] = [];
  private healthy = false;
  private heartbeat?: NodeJS.Timeout;
  private closing = false;
  private starting?: Promise<void>;
  private resubscribing = false;
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
    if (!this.redis.enabled) return;
    this.starting = this.redis.isCluster ? this.redis.whenConnected().then(() => this.subscribe()) : Promise.resolve(this.subscribe());
    this.heartbeat = setInterval(() => void this.probe(), CHANNEL_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.setHealthy(false);
    await Promise.race([this.starting, delay(SETTLE_BEFORE_CLOSE_MS, undefined, { ref: false })]);
    await Promise.all(this.subscribers.map((subscriber) => closeSubscriber(subscriber)));
  }

  /**
   * Moves the organization's generation in Redis and tells every instance; resolves to the new value once Redis has
   * sent the message to every subscribed instance. `writePosition`: the primary's WAL position after the write
   * (decimal bytes), stored with the generation.
   */
  async move(organizationId: string, writePosition?: string | null): Promise<number> {
    const key = generationKey(this.config.REDIS_KEY_PREFIX, organizationId);
    const reply = await this.redis.client!.eval(MOVE_SCRIPT, {
      keys: [key, lastWriteKey(this.config.REDIS_KEY_PREFIX, organizationId)],
      arguments: [this.channel, organizationId, writePosition ?? ''],
    });
    // Redis sends this reply before the subscribers' copies of the message, in one pass over its pending writes; a
    // command sent after the reply (to the same node: the key's slot) is answered only once that pass has sent them all.
    await this.redis.client!.exists(key);
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

  /** Whatever was learnt may be wrong (a generation went backwards: Redis was flushed or failed over): start again. */
  forgetAll(): void {
    this.epoch++;
    for (const listener of this.listeners) listener.lost?.();
  }

  /**
   * Subscribes a connection of its own (a subscribed connection runs no other commands) to the channel: to Redis, or
   * to every master of a Redis Cluster. A move's PUBLISH runs inside the script on the master that owns the
   * organization's slot, which hands the message to its own subscribers before it replies to the mover; other
   * masters get it later over the cluster bus. Listening to every master and taking a move only from the owner of its
   * slot keeps the single-Redis guarantee (heard before any later reply) and ignores the late copies, which could
   * otherwise arrive after a newer move and look like a generation going backwards.
   */
  private subscribe(): void {
    if (this.closing) return;
    const nodes = this.redis.isCluster ? this.redis.clusterMasters() : [undefined];
    this.subscribers = nodes.map((node) => {
      const client = this.redis.dedicatedClient(node);
      const subscriber: Subscriber = { client, address: node ? `${node.host}:${node.port}` : undefined, subscribed: false };
      client.on('error', () => this.setHealthy(false));
      client.on('end', () => this.setHealthy(false));
      // After a reconnect the client re-subscribes before it reports ready: messages flow again from here on.
      client.on('ready', () => this.setHealthy(this.allSubscribed()));
      subscriber.connecting = client
        .connect()
        .then(async () => {
          if (this.closing) return;
          await client.subscribe(this.channel, (message) => this.receive(message, subscriber));
          subscriber.subscribed = true;
          this.setHealthy(this.allSubscribed());
        })
        .catch((error: Error) => {
          if (!this.closing) this.logger.warn(`Cache invalidation channel not subscribed (the in-process cache stays off): ${error.message}`);
        });
      return subscriber;
    });
  }

  private allSubscribed(): boolean {
    return this.subscribers.length > 0 && this.subscribers.every((subscriber) => subscriber.subscribed && subscriber.client.isReady);
  }

  private receive(message: string, from: Subscriber): void {
    if (!this.live) return;
    const [kind, first, rest] = splitMessage(message);
    if (kind === 'g') {
      const generation = Number(rest);
      if (!Number.isSafeInteger(generation) || !this.fromOwner(first, from)) return;
      for (const listener of this.listeners) listener.moved?.(first, generation);
    } else if (kind === 'r' && first !== this.instanceId) {
      for (const listener of this.listeners) listener.replaced?.(rest);
    }
  }

  /** Without a cluster, always; in a cluster, whether the message came from the master that owns the organization's slot. */
  private fromOwner(organizationId: string, from: Subscriber): boolean {
    if (from.address === undefined) return true;
    return this.redis.ownerOf(calculateSlot(generationKey(this.config.REDIS_KEY_PREFIX, organizationId))) === from.address;
  }

  /**
   * PING on each subscribed connection: a Redis that stopped answering (no socket error) must not keep the channel
   * live. In a cluster whose masters changed (a failover, a new shard), the subscriptions follow the new masters.
   */
  private async probe(): Promise<void> {
    if (this.closing || this.resubscribing) return;
    if (this.redis.isCluster && this.redis.isReady && this.subscribers.length > 0 && this.mastersChanged()) return this.resubscribe();
    if (!this.allSubscribed()) return;
    const epoch = this.epoch;
    try {
      // Replies come in order: every message published before this PONG has been received.
      await withTimeout(Promise.all(this.subscribers.map((subscriber) => subscriber.client.ping())), HEARTBEAT_TIMEOUT_MS);
      if (this.epoch === epoch && this.allSubscribed()) this.setHealthy(true);
    } catch {
      this.setHealthy(false);
    }
  }

  private mastersChanged(): boolean {
    const masters = this.redis.clusterMasters().map((node) => `${node.host}:${node.port}`).sort();
    const subscribed = this.subscribers.map((subscriber) => subscriber.address ?? '').sort();
    return masters.join(',') !== subscribed.join(',');
  }

  private async resubscribe(): Promise<void> {
    this.resubscribing = true;
    const old = this.subscribers;
    this.subscribers = [];
    this.setHealthy(false);
    try {
      await Promise.all(old.map((subscriber) => closeSubscriber(subscriber)));
      this.subscribe();
    } finally {
      this.resubscribing = false;
    }
  }

  private setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    this.epoch++;
    if (!healthy) for (const listener of this.listeners) listener.lost?.();
  }
}

interface Subscriber {
  client: RedisClientType;
  /** The cluster master it listens to ("host:port"); undefined without a cluster. */
  address: string | undefined;
  subscribed: boolean;
  connecting?: Promise<void>;
}

/**
 * A connect still under way would open its socket after a destroy (an app closed right after it started): let it
 * settle first, for at most the connect timeout, and never let a late socket keep the process alive.
 */
async function closeSubscriber(subscriber: Subscriber): Promise<void> {
  subscriber.client.unref();
  await Promise.race([subscriber.connecting, delay(SETTLE_BEFORE_CLOSE_MS, undefined, { ref: false })]);
  // Nothing a subscribed connection has in flight is worth waiting for.
  if (subscriber.client.isOpen) subscriber.client.destroy();
}

/** "g <organization> <generation>" or "r <instance> <key>"; the key, last, may hold spaces. */
function splitMessage(message: string): [string, string, string] {
  const first = message.indexOf(' ');
  const second = message.indexOf(' ', first + 1);
  if (first < 0 || second < 0) return ['', '', ''];
  return [message.slice(0, first), message.slice(first + 1, second), message.slice(second + 1)];
}
