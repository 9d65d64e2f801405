import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_ROLE } from './data-source.factory.js';

interface OpenTransaction {
  organizationId: string | null;
  manager: EntityManager;
}

export interface TransactionOptions {
  /** Run on a read replica when DATABASE_READ_URLS is configured. */
  readOnly?: boolean;
}

/**
 * Runs database work in one transaction under the application role with the organization set by
 * set_config(…, true), so row-level security scopes every statement and a pooled connection never
 * carries one tenant's setting into another's request. Calls nested inside an open transaction join it.
 */
@Injectable()
export class TenantTransactions {
  private readonly open = new AsyncLocalStorage<OpenTransaction>();

  constructor(private readonly dataSource: DataSource) {}

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
    const runner = this.dataSource.createQueryRunner(options.readOnly ? 'slave' : 'master');
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
}
