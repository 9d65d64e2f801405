import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { RedisClientType } from '@redis/client';
import { AsyncResource } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { AppConfig } from '../config/app-config.js';
import { EVENT_TYPES, type EventType } from '../database/entities/activity-event.entity.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';

const PUBLISH_TIMEOUT_MS = 250;

/** What one accepted event batch added to an organization: the stored events by type (duplicates excluded). */
export interface ActivitySummary {
  organization_id: string;
  accepted: number;
  by_type: Record<EventType, number>;
  /** When the batch was stored. */
  at: string;
}

type ActivityListener = (summary: ActivitySummary) => void;

/**
 * Event batches announced to every instance, for the live stream's `activity` events: Redis pub/sub on one channel
 * under REDIS_KEY_PREFIX, heard on a connection of its own; in the embedded mode, straight to this instance's
 * listeners. Best effort, like any live feed: a summary published while Redis is away is not replayed (the figures
 * themselves travel by the cache's generation channel, which has its own recovery).
 */
@Injectable()
export class ActivityChannel implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('MetricsStream');
  private readonly listeners: ActivityListener[] = [];
  /** Listeners run here, never inside the publishing request's context (its transaction, its log ids). */
  private readonly scope = new AsyncResource('ActivityChannel');
  private subscriber: RedisClientType | null = null;
  private connecting?: Promise<unknown>;
  private closing = false;
  private warned = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
  ) {}

  get channel(): string {
    return `${this.config.REDIS_KEY_PREFIX}:metrics:activity`;
  }

  listen(listener: ActivityListener): void {
    this.listeners.push(listener);
  }

  onModuleInit(): void {
    const main = this.redis.client;
    if (!main) return;
    const subscriber = main.duplicate() as RedisClientType;
    this.subscriber = subscriber;
    // Errors are the reconnecting client's business; the subscription comes back with the connection.
    subscriber.on('error', () => undefined);
    this.connecting = subscriber
      .connect()
      .then(async () => {
        if (!this.closing) await subscriber.subscribe(this.channel, (message) => this.receive(message));
      })
      .catch((error: Error) => {
        if (!this.closing) this.logger.warn(`Activity channel not subscribed (no activity events on streams): ${error.message}`);
      });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    const subscriber = this.subscriber;
    if (!subscriber) return;
    // In a Redis Cluster the duplicate is a cluster, which has no unref(): calling it threw and left it reconnecting.
    if (typeof subscriber.unref === 'function') subscriber.unref();
    // A connect still under way would open its socket after a destroy: let it settle first, for at most a second.
    await Promise.race([this.connecting, delay(1_000, undefined, { ref: false })]);
    if (subscriber.isOpen) subscriber.destroy();
  }

  /** Announces a stored batch; never throws (the batch is already committed). */
  async publish(organizationId: string, byType: Partial<Record<EventType, number>>): Promise<void> {
    const counts = Object.fromEntries(EVENT_TYPES.map((type) => [type, byType[type] ?? 0])) as Record<EventType, number>;
    const accepted = Object.values(counts).reduce((total, count) => total + count, 0);
    if (accepted === 0) return;
    const summary: ActivitySummary = { organization_id: organizationId, accepted, by_type: counts, at: new Date().toISOString() };
    const client = this.redis.client;
    if (!client) return this.deliver(summary);
    if (!client.isReady) return;
    try {
      await withTimeout(client.publish(this.channel, JSON.stringify(summary)), PUBLISH_TIMEOUT_MS);
      this.warned = false;
    } catch (error) {
      if (!this.warned) this.logger.warn(`Activity summary not published: ${(error as Error).message}`);
      this.warned = true;
    }
  }

  private receive(message: string): void {
    let summary: ActivitySummary;
    try {
      summary = JSON.parse(message) as ActivitySummary;
    } catch {
      return;
    }
    if (typeof summary?.organization_id === 'string') this.deliver(summary);
  }

  private deliver(summary: ActivitySummary): void {
    this.scope.runInAsyncScope(() => {
      for (const listener of this.listeners) {
        // A listener's failure must not reach the writer: its batch is already committed.
        try {
          listener(summary);
        } catch (error) {
          this.logger.error(`An activity listener failed: ${(error as Error).message}`);
        }
      }
    });
  }
}
