import { DataSource } from 'typeorm';
import type { ReadReplicas } from '../database/read-replicas.js';

/** What a node-postgres Pool reports about itself. */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

export interface PoolState {
  /** "primary", or "replica-1", "replica-2"… in the order of DATABASE_READ_URLS. */
  pool: string;
  total: number;
  idle: number;
  waiting: number;
}

/**
 * Open, idle and waiting connections of each pg Pool behind TypeORM (the embedded PGlite runs under a
 * pool of one). Read at call time; no query is made, so a scrape never competes for a connection.
 */
export function databasePoolState(dataSource: DataSource, replicas?: ReadReplicas): PoolState[] {
  if (!dataSource.isInitialized) return [];
  const driver = dataSource.driver as unknown as { master?: PgPool };
  const pools: [string, PgPool | undefined][] = [['primary', driver.master], ...(replicas?.replicas ?? []).map((replica): [string, PgPool] => [replica.name, replica.pool])];
  return pools
    .filter((entry): entry is [string, PgPool] => entry[1] !== undefined && typeof entry[1].totalCount === 'number')
    .map(([pool, state]) => ({ pool, total: state.totalCount, idle: state.idleCount, waiting: state.waitingCount }));
}
