import { AsyncLocalStorage } from 'node:async_hooks';
import { HttpException, Injectable, Optional } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { DataSource, EntityManager, QueryFailedError, QueryRunner } from 'typeorm';
import { isTransientConflict } from '../errors/database-errors.js';
import { APP_ROLE } from './data-source.factory.js';
import { currentReadRequirement, ReadReplicas, Replica } from './read-replicas.js';

interface OpenTransaction {
  organizationId: string | null;
  manager: EntityManager;
}

export interface TransactionOptions {
  /** Read-only work: it may run on a read replica when DATABASE_READ_URLS is configured. */
  readOnly?: boolean;
}

/** The outcome of trying a replica: its result, or "use the primary" (replica unavailable or behind). */
type ReplicaAttempt<T> = { done: true; value: T } | { done: false };

/**
 * Runs database work in one transaction under the application role with the organization set by
 * set_config(…, true), so row-level security scopes every statement and a pooled connection never
 * carries one tenant's setting into another's request. Calls nested inside an open transaction join it.
 * Read-only work goes to a healthy replica that has replayed what the current read requirement names;
 * whatever goes wrong with the replica (down, hung, behind) sends the same work to the primary instead.
 */
@Injectable()
export class TenantTransactions {
  private readonly open = new AsyncLocalStorage<OpenTransaction>();

  constructor(
    private readonly dataSource: DataSource,
    // Optional: tools that build this class by hand (the benchmark's baseline) use the primary alone.
    @Optional() private readonly replicas?: ReadReplicas,
  ) {}

  run<T>(organizationId: string, work: (manager: EntityManager) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.transaction(organizationId, work, options);
  }

  /** For the few paths that act before any organization is known (login); RLS then shows no tenant row. */
  runWithoutTenant<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.transaction(null, work, {});
  }

  private async transaction<T>(
    organizationId: string | null,
    work: (manager: EntityManager) => Promise<T>,
    options: TransactionOptions,
  ): Promise<T> {
    const current = this.open.getStore();
    if (current) {
      if (current.organizationId !== organizationId) {
        throw new Error('A transaction for one organization cannot nest work for another');
      }
      return work(current.manager);
    }
    if (options.readOnly && this.replicas?.enabled) {
      const requirement = currentReadRequirement() ?? { replayed: null };
      const replica = requirement === 'primary' ? undefined : this.replicas.pick();
      if (replica && requirement !== 'primary') {
        const attempt = await this.onReplica(this.replicas, replica, organizationId, work, requirement.replayed);
        if (attempt.done) return attempt.value;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.within(this.dataSource.createQueryRunner('master'), organizationId, work);
      } catch (error) {
        // A deadlock PostgreSQL broke (none is known since inserts take the organization's rollup lock first) or a
        // serialization failure rolled the transaction back whole; it is run again (its work is database-only).
        if (attempt >= TRANSIENT_ATTEMPTS || !isTransientConflict(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.floor(Math.random() * 20)));
      }
    }
  }

  private async within<T>(runner: QueryRunner, organizationId: string | null, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      await runner.connect();
      await runner.startTransaction();
      await runner.query(`SET LOCAL ROLE ${APP_ROLE}`);
      if (organizationId) await runner.query(`SELECT set_config('app.organization_id', $1, true)`, [organizationId]);
      const result = await this.open.run({ organizationId, manager: runner.manager }, () => work(runner.manager));
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * The work on the replica, in the same kind of transaction (role and organization set locally, so row-level
   * security applies there too), after checking that the replica has replayed `replayed`.
   */
  private async onReplica<T>(
    replicas: ReadReplicas,
    replica: Replica,
    organizationId: string | null,
    work: (manager: EntityManager) => Promise<T>,
    replayed: string | null,
  ): Promise<ReplicaAttempt<T>> {
    let client: PoolClient;
    try {
      client = await replicas.connect(replica);
    } catch {
      return { done: false };
    }
    const runner = replicaRunner(this.dataSource, client);
    let broken: unknown;
    try {
      await runner.startTransaction();
      await runner.query(`SET LOCAL ROLE ${APP_ROLE}`);
      const [state] = (await runner.query(
        `SELECT set_config('app.organization_id', $1, true), $2::numeric IS NULL OR (pg_last_wal_replay_lsn() - '0/0') >= $2::numeric AS replayed`,
        [organizationId ?? '', replayed],
      )) as { replayed: boolean }[];
      if (!state.replayed) {
        await runner.rollbackTransaction();
        return { done: false };
      }
      const value = await this.open.run({ organizationId, manager: runner.manager }, () => work(runner.manager));
      await runner.commitTransaction();
      return { done: true, value };
    } catch (error) {
      if (!isReplicaFailure(error)) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
      // The connection may be stuck mid-statement: never hand it back to the pool.
      broken = error;
      replicas.failed(replica, error);
      return { done: false };
    } finally {
      client.release(broken instanceof Error ? broken : broken ? new Error(String(broken)) : undefined);
      (runner as unknown as { isReleased: boolean }).isReleased = true;
    }
  }
}

/** A TypeORM query runner on a connection taken from a replica pool (TypeORM itself only knows the primary). */
function replicaRunner(dataSource: DataSource, client: PoolClient): QueryRunner {
  const runner = dataSource.createQueryRunner('slave');
  // PostgresQueryRunner.connect() returns an already attached connection as is.
  (runner as unknown as { databaseConnection: PoolClient }).databaseConnection = client;
  return runner;
}

/**
 * Whether an error says the replica could not serve (connection lost or refused, timeouts, cancellation by recovery
 * conflicts, shutdown), as opposed to the work's own answer (an HTTP error, an SQL error the primary would raise too).
 */
export function isReplicaFailure(error: unknown): boolean {
  if (error instanceof HttpException) return false;
  const code = error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : (error as { code?: string } | null)?.code;
  // Node's socket errors (ECONNREFUSED, EPIPE…) and the driver's timeouts carry no SQLSTATE.
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('E')) return true;
  return code.startsWith('08') || code.startsWith('57') || code.startsWith('53') || code === '40001' || code === '25006';
}

const TRANSIENT_ATTEMPTS = 3;

