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

export function templateDatabaseName(id = runId()): string {
  return `tm_test_${id}_template`;
}
