import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createClient, RedisClientType } from '@redis/client';
import { AppConfig } from '../config/app-config.js';

/**
 * The one Redis client of the process (cache and rate-limit counters), or none in the embedded mode.
 * Commands fail fast while Redis is down (no offline queue, bounded connect time) and the socket
 * reconnects by itself with capped backoff, so an outage costs latency of milliseconds, not availability.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly client: RedisClientType | null;
  private wasReady = false;

  constructor(config: AppConfig) {
    if (!config.REDIS_URL) {
      this.client = null;
      this.logger.log('No REDIS_URL: cache and rate-limit counters live in process memory (one instance only)');
      return;
    }
    this.client = createClient({
      url: config.REDIS_URL,
      disableOfflineQueue: true,
      commandsQueueMaxLength: 10_000,
      socket: {
        // No socketTimeout: in @redis/client 5 it is an idle timeout that drops quiet connections; callers bound each command instead.
        connectTimeout: 1000,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
      },
    }) as RedisClientType;
    this.client.on('error', (error: Error) => {
      if (this.wasReady) this.logger.warn(`Redis connection error: ${error.message}`);
      this.wasReady = false;
    });
    this.client.on('ready', () => {
      this.wasReady = true;
      this.logger.log('Redis connected');
    });
    // Connect in the background: start-up must not wait for (or fail on) Redis.
    this.client.connect().catch((error: Error) => this.logger.warn(`Redis not reachable yet: ${error.message}`));
  }

  get enabled(): boolean {
    return this.client !== null;
  }

  get isReady(): boolean {
    return this.client?.isReady ?? false;
  }

  /** PING with a deadline; false when Redis is down or not configured. */
  async ping(timeoutMs = 500): Promise<boolean> {
    if (!this.client?.isReady) return false;
    return withTimeout(this.client.ping(), timeoutMs).then(
      (reply) => reply === 'PONG',
      () => false,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client?.isOpen) await this.client.close().catch(() => this.client?.destroy());
    else if (this.client) this.client.destroy();
  }
}

/**
 * Rejects after ms unless the promise settles first. The rejection waits one more turn of the event loop, so a
 * reply that arrived while the loop was busy (the timer and the socket both due) still wins.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => setImmediate(() => reject(new Error(`timed out after ${ms} ms`))), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
