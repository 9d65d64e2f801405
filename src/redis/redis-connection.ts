import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createClient, createCluster, RedisClientOptions, RedisClientType, RedisClusterType } from '@redis/client';
import { AppConfig } from '../config/app-config.js';

/** How often a Redis Cluster's readiness is re-evaluated (it has no single "ready" event) and a failed connect retried. */
const CLUSTER_WATCH_MS = 250;

/** The socket settings of every connection: fail fast while Redis is down, reconnect by itself with capped backoff. */
const SOCKET = {
  // No socketTimeout: in @redis/client 5 it is an idle timeout that drops quiet connections; callers bound each command instead.
  connectTimeout: 1000,
  reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
};

/** One node of a Redis Cluster, as the cluster reports it. */
export interface ClusterNode {
  host: string;
  port: number;
}

/**
 * The one Redis client of the process (cache and rate-limit counters), or none in the embedded mode: a client of
 * REDIS_URL, or a Redis Cluster client of REDIS_CLUSTER_URLS. A cluster client answers the same commands, each sent
 * to the node that owns its first key (every key the service writes carries a hash tag, so a script's or an MGET's
 * keys share one slot); `client` gives it the node client's type for that common surface, and what differs
 * (readiness, PING, per-node connections) goes through this class.
 * Commands fail fast while Redis is down (no offline queue, bounded connect time) and sockets reconnect by themselves
 * with capped backoff, so an outage costs latency of milliseconds, not availability.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly client: RedisClientType | null;
  readonly cluster: RedisClusterType | null = null;
  private wasReady = false;
  private clusterConnected = false;
  private readonly readyListeners: (() => void)[] = [];
  private watch?: NodeJS.Timeout;
  private closing = false;
  private connected!: Promise<void>;
  private settleConnected!: () => void;

  constructor(private readonly config: AppConfig) {
    this.connected = new Promise<void>((resolve) => (this.settleConnected = resolve));
    const clusterUrls = config.redisClusterUrls;
    if (clusterUrls.length > 0) {
      this.cluster = createCluster({
        rootNodes: clusterUrls.map((url) => ({ url })),
        defaults: { ...this.nodeOptions(clusterUrls[0]), disableOfflineQueue: true, commandsQueueMaxLength: 10_000 },
      }) as unknown as RedisClusterType;
      this.client = this.cluster as unknown as RedisClientType;
      this.cluster.on('error', (error: Error) => {
        if (this.wasReady) this.logger.warn(`Redis Cluster error: ${error.message}`);
      });
      this.connectCluster();
      this.watch = setInterval(() => this.notice(), CLUSTER_WATCH_MS);
      this.watch.unref();
      return;
    }
    if (!config.REDIS_URL) {
      this.client = null;
      this.logger.log('No REDIS_URL: cache and rate-limit counters live in process memory (one instance only)');
      return;
    }
    this.client = createClient({ url: config.REDIS_URL, disableOfflineQueue: true, commandsQueueMaxLength: 10_000, socket: SOCKET }) as RedisClientType;
    this.client.on('error', (error: Error) => {
      if (this.wasReady) this.logger.warn(`Redis connection error: ${error.message}`);
      this.wasReady = false;
    });
    this.client.on('ready', () => {
      this.wasReady = true;
      this.logger.log('Redis connected');
      for (const listener of this.readyListeners) listener();
    });
    // Connect in the background: start-up must not wait for (or fail on) Redis.
    this.client
      .connect()
      .then(() => this.settleConnected())
      .catch((error: Error) => this.logger.warn(`Redis not reachable yet: ${error.message}`));
  }

  get enabled(): boolean {
    return this.client !== null;
  }

  get isCluster(): boolean {
    return this.cluster !== null;
  }

  /** Ready for commands: the client's socket, or for a cluster, a connection to every master. */
  get isReady(): boolean {
    if (!this.cluster) return this.client?.isReady ?? false;
    const masters = this.clusterConnected ? this.cluster.masters : [];
    return masters.length > 0 && masters.every((master) => master.client?.isReady === true);
  }

  /** Called each time Redis becomes ready again (after a start or a reconnect). */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** Resolves once the client (or the cluster's topology) is first connected; never rejects. */
  whenConnected(): Promise<void> {
    return this.connected;
  }

  /** The masters of the cluster (empty without a cluster or before it connected). */
  clusterMasters(): ClusterNode[] {
    if (!this.cluster || !this.clusterConnected) return [];
    return this.cluster.masters.map((master) => ({ host: master.host, port: master.port }));
  }

  /** Which master owns a key's slot now ("host:port"), or undefined when not known. */
  ownerOf(slot: number): string | undefined {
    const master = this.cluster?.slots[slot]?.master;
    return master ? `${master.host}:${master.port}` : undefined;
  }

  /** A new connection of its own to one node (cluster) or to REDIS_URL, with the same credentials and settings. */
  dedicatedClient(node?: ClusterNode): RedisClientType {
    if (node) {
      const options = this.nodeOptions(this.config.redisClusterUrls[0]);
      return createClient({ ...options, socket: { ...options.socket, host: node.host, port: node.port } } as RedisClientOptions) as RedisClientType;
    }
    return this.client!.duplicate() as RedisClientType;
  }

  /** The clients of every master of a cluster, or the one client: for commands that each node answers for itself (INFO). */
  nodeClients(): RedisClientType[] {
    if (!this.client) return [];
    if (!this.cluster) return [this.client];
    return this.clusterConnected ? this.cluster.masters.flatMap((master) => (master.client ? [master.client as unknown as RedisClientType] : [])) : [];
  }

  /** PING with a deadline (every master of a cluster); false when Redis is down or not configured. */
  async ping(timeoutMs = 500): Promise<boolean> {
    if (!this.isReady) return false;
    return withTimeout(Promise.all(this.nodeClients().map((client) => client.ping())), timeoutMs).then(
      (replies) => replies.every((reply) => reply === 'PONG'),
      () => false,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.watch);
    if (this.cluster) {
      if (this.cluster.isOpen) await this.cluster.close().catch(() => this.cluster?.destroy());
      return;
    }
    if (this.client?.isOpen) await this.client.close().catch(() => this.client?.destroy());
    else if (this.client) this.client.destroy();
  }

  /** The cluster's connect fails outright when no root node answers: retried until one does. */
  private connectCluster(): void {
    this.cluster!.connect().then(
      () => {
        this.clusterConnected = true;
        this.settleConnected();
      },
      (error: Error) => {
        if (this.closing) return;
        this.logger.warn(`Redis Cluster not reachable yet: ${error.message}`);
        setTimeout(() => !this.closing && this.connectCluster(), 1000).unref();
      },
    );
  }

  /** A cluster has no single ready event: readiness is watched, and listeners told when it comes back. */
  private notice(): void {
    const ready = this.isReady;
    if (ready && !this.wasReady) {
      this.logger.log('Redis Cluster connected');
      for (const listener of this.readyListeners) listener();
    }
    this.wasReady = ready;
  }

  /** Credentials and TLS of a node URL, for the nodes a cluster discovers by itself. */
  private nodeOptions(url: string): RedisClientOptions {
    const parsed = new URL(url);
    return {
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      socket: { ...SOCKET, ...(parsed.protocol === 'rediss:' ? { tls: true as const } : {}) },
    } as RedisClientOptions;
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
