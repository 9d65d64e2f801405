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

/** The primary's WAL position at one check: where a replica's replay is measured against. */
interface PrimarySample {
  position: bigint;
  at: number;
}

/** At most this many samples are kept (a replica behind the oldest one is still behind by more than it says). */
const MAX_PRIMARY_SAMPLES = 600;

/**
 * Seconds a replica is behind the primary, from the primary's positions sampled at the checks: the age of the oldest
 * sample it has not replayed (at least that long ago the primary had data the replica still lacks), else 0. This
 * catches a replica that receives nothing (a broken WAL receiver), whose own view says it replayed all it received.
 */
export function lagBehindPrimary(samples: readonly PrimarySample[], replayed: bigint | null, now: number): number {
  if (replayed === null) return 0;
  const missing = samples.find((sample) => sample.position > replayed);
  return missing ? Math.max(0, now - missing.at) / 1000 : 0;
}

export class Replica {
  state: ReplicaState = 'down';
  lagSeconds: number | null = null;
  /** The WAL position replayed at the last check that answered. */
  replayed: bigint | null = null;
  private checking = false;

  constructor(
    readonly name: string,
    readonly pool: Pool,
  ) {}

  status(): ReplicaStatus {
    return { name: this.name, state: this.state, lag_seconds: this.lagSeconds === null ? null : Math.round(this.lagSeconds * 1000) / 1000 };
  }

  /**
   * One check; a replica that fails or does not answer within the statement timeout is down until a later check answers.
   * Its lag is the larger of its own view and how far it is behind the primary's sampled positions.
   */
  async check(maxLagSeconds: number, primarySamples: readonly PrimarySample[] = []): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const { rows } = await this.pool.query<{ replayed: string | null; lag: number }>(CHECK_SQL);
      this.replayed = rows[0].replayed === null ? null : BigInt(rows[0].replayed);
      this.lagSeconds = Math.max(Number(rows[0].lag), lagBehindPrimary(primarySamples, this.replayed, Date.now()));
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
    this.replayed = null;
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
  private readonly primarySamples: PrimarySample[] = [];

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

  /** Checks every replica now (also run on a timer), against the primary's position sampled first. */
  async checkAll(): Promise<void> {
    await this.samplePrimary();
    await Promise.all(
      this.replicas.map(async (replica) => {
        const before = replica.state;
        await replica.check(this.config.REPLICA_MAX_LAG_SECONDS, this.primarySamples);
        if (replica.state !== before) this.logger.log(`Read replica ${replica.name} is ${replica.state}${replica.state === 'lagging' ? ` (${replica.lagSeconds?.toFixed(1)} s behind)` : ''}`);
      }),
    );
    this.pruneSamples();
  }

  /** The primary's written WAL position now; a failure leaves the samples as they were (the primary's own errors show elsewhere). */
  private async samplePrimary(): Promise<void> {
    try {
      const rows = (await this.dataSource.query(`SELECT (pg_current_wal_lsn() - '0/0')::text AS position`)) as { position: string }[];
      const position = BigInt(rows[0].position);
      const last = this.primarySamples.at(-1);
      // An idle primary: the position did not move, the oldest sample of it is the one that counts.
      if (!last || last.position !== position) this.primarySamples.push({ position, at: Date.now() });
    } catch {
      return;
    }
  }

  /** Drops the samples every replica has replayed (keeping the latest), and the oldest beyond the bound. */
  private pruneSamples(): void {
    const replayed = this.replicas.map((replica) => replica.replayed);
    if (replayed.every((position) => position !== null)) {
      const slowest = replayed.reduce((min, position) => (position! < min! ? position : min));
      while (this.primarySamples.length > 1 && this.primarySamples[0].position <= slowest!) this.primarySamples.shift();
    }
    if (this.primarySamples.length > MAX_PRIMARY_SAMPLES) this.primarySamples.splice(0, this.primarySamples.length - MAX_PRIMARY_SAMPLES);
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
      idleTimeoutMillis: this.config.DATABASE_POOL_IDLE_SECONDS * 1000,
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
