import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';

export type ReplicaState = 'up' | 'lagging' | 'down';

export interface ReplicaStatus {
  /** "replica-1", "replica-2"… in the order of DATABASE_READ_URLS (never the URL: it may hold credentials). */
  name: string;
  state: ReplicaState;
  /** Seconds of replay behind the primary at the last check; null while the replica is unreachable. */
  lag_seconds: number | null;
}

/**
 * What a read needs from a replica: that it has replayed the organization's last write (its WAL position, a decimal
 * byte offset; null when none is known), or "primary" when that position cannot be known.
 */
export type ReadRequirement = { replayed: string | null } | 'primary';

const requirements = new AsyncLocalStorage<ReadRequirement>();

/** Runs work under a read requirement: every read-only transaction it opens honours it. */
export function withReadRequirement<T>(requirement: ReadRequirement, work: () => Promise<T>): Promise<T> {
  return requirements.run(requirement, work);
}

export function currentReadRequirement(): ReadRequirement | undefined {
  return requirements.getStore();
}

/**
 * Lag as the replica sees it: 0 when it has replayed everything it received (or is not in recovery), otherwise the
 * age of the last transaction it replayed. The replay position comes as a decimal byte offset.
 */
const CHECK_SQL = `SELECT (pg_last_wal_replay_lsn() - '0/0')::text AS replayed,
  CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
       ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END::float8 AS lag`;

export class Replica {
  state: ReplicaState = 'down';
  lagSeconds: number | null = null;
  private checking = false;

  constructor(
    readonly name: string,
    readonly pool: Pool,
  ) {}

  status(): ReplicaStatus {
    return { name: this.name, state: this.state, lag_seconds: this.lagSeconds === null ? null : Math.round(this.lagSeconds * 1000) / 1000 };
  }

  /** One check; a replica that fails or does not answer within the statement timeout is down until a later check answers. */
  async check(maxLagSeconds: number): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const { rows } = await this.pool.query<{ replayed: string | null; lag: number }>(CHECK_SQL);
      this.lagSeconds = Number(rows[0].lag);
      this.state = this.lagSeconds > maxLagSeconds ? 'lagging' : 'up';
    } catch {
      this.markDown();
    } finally {
      this.checking = false;
    }
  }

  markDown(): void {
    this.state = 'down';
    this.lagSeconds = null;
  }
}

/**
 * The read replicas of DATABASE_READ_URLS: one pool each, with short connect and statement timeouts, checked every
 * REPLICA_CHECK_INTERVAL_MS. Only replicas that answered their last check within REPLICA_MAX_LAG_SECONDS take reads
 * (in turn); every other read goes to the primary. A replica starts "down" until its first check answers.
 */
@Injectable()
export class ReadReplicas implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  readonly replicas: Replica[];
  private next = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {
    this.replicas = config.DATABASE_URL
      ? config.readUrls.map((url, index) => new Replica(`replica-${index + 1}`, this.createPool(url, index + 1)))
      : [];
  }

  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    this.logger.log(`${this.replicas.length} read replica(s): read-only queries go to those that answer within ${this.config.REPLICA_MAX_LAG_SECONDS} s of lag`);
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.config.REPLICA_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // Bounded: a hung replica's checked-out connections would hold pool.end() until their statement timeout.
    const ended = Promise.all(this.replicas.map((replica) => replica.pool.end().catch(() => undefined)));
    await Promise.race([ended, delay(this.config.REPLICA_STATEMENT_TIMEOUT_MS + 500, undefined, { ref: false })]);
  }

  /** Checks every replica now (also run on a timer). */
  async checkAll(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (replica) => {
        const before = replica.state;
        await replica.check(this.config.REPLICA_MAX_LAG_SECONDS);
        if (replica.state !== before) this.logger.log(`Read replica ${replica.name} is ${replica.state}${replica.state === 'lagging' ? ` (${replica.lagSeconds?.toFixed(1)} s behind)` : ''}`);
      }),
    );
  }

  statuses(): ReplicaStatus[] {
    return this.replicas.map((replica) => replica.status());
  }

  /** The next replica that may take a read, or undefined: the read goes to the primary. */
  pick(): Replica | undefined {
    for (let tried = 0; tried < this.replicas.length; tried++) {
      const replica = this.replicas[this.next++ % this.replicas.length];
      if (replica.state === 'up') return replica;
    }
    return undefined;
  }

  /** A connection to the replica; a failure to connect marks it down (until a check answers) and rejects. */
  async connect(replica: Replica): Promise<PoolClient> {
    try {
      return await replica.pool.connect();
    } catch (error) {
      this.failed(replica, error);
      throw error;
    }
  }

  failed(replica: Replica, error: unknown): void {
    if (replica.state !== 'down') this.logger.warn(`Read replica ${replica.name} failed, its reads go to the primary: ${(error as Error).message}`);
    replica.markDown();
  }

  /**
   * The primary's WAL position now, as a decimal byte offset, to be taken after a write committed: a replica that
   * has replayed up to it has that write. Null when no replica is configured (nothing to compare with).
   */
  async primaryPosition(): Promise<string | null> {
    if (!this.enabled) return null;
    const rows = (await this.dataSource.query(`SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS position`)) as { position: string }[];
    return rows[0].position;
  }

  private createPool(url: string, index: number): Pool {
    const pool = new Pool({
      connectionString: url,
      max: this.config.DATABASE_POOL_SIZE,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: this.config.REPLICA_CONNECT_TIMEOUT_MS,
      // Server-side for a slow query, client-side for a replica that stopped answering altogether.
      statement_timeout: this.config.REPLICA_STATEMENT_TIMEOUT_MS,
      query_timeout: this.config.REPLICA_STATEMENT_TIMEOUT_MS + 250,
      application_name: `${this.config.SERVICE_NAME}-replica-${index}`.slice(0, 63),
      keepAlive: true,
    });
    // An idle connection that breaks must not crash the process; the next check reports the replica.
    pool.on('error', () => undefined);
    return pool;
  }
}
