import { Client } from 'pg';

/** Where the suite finds PostgreSQL and Redis; CI sets these, the defaults match the local services. */
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export function runId(): string {
  const id = process.env.TEST_RUN_ID;
  if (!id) throw new Error('TEST_RUN_ID is unset: run the tests through jest (npm test), whose global setup prepares the databases');
  return id;
}

export function workerDatabaseName(): string {
  return `tm_test_${runId()}_w${process.env.JEST_WORKER_ID ?? '1'}`;
}

/**
 * A fresh copy of the migrated template for one spec file, for specs that change what the whole database shares
 * (retention drops months of every organization's events and moves the global horizon): other files on the same
 * worker never see it. The run's teardown drops it with the rest.
 */
export async function ownDatabaseUrl(label: string): Promise<string> {
  const name = `tm_test_${runId()}_${label}_${process.env.JEST_WORKER_ID ?? '1'}`;
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateDatabaseName()}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(name);
}

export function templateDatabaseName(id = runId()): string {
  return `tm_test_${id}_template`;
}
