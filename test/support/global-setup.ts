import './ts-resolve';
import { createClient } from '@redis/client';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../src/database/migrations';
import { ADMIN_DATABASE_URL, databaseUrl, TEST_REDIS_URL, templateDatabaseName } from './test-env';

/**
 * Once per jest run: check that the real PostgreSQL and Redis answer (fail loudly, never skip), build
 * a migrated template database, and give each worker its own copy. Names carry a run id, so two runs
 * on one machine never touch each other's databases.
 */
export default async function globalSetup(): Promise<void> {
  const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  process.env.TEST_RUN_ID = id;

  const admin = new Client({ connectionString: ADMIN_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_DATABASE_URL} (set TEST_DATABASE_URL): ${(error as Error).message}`);
  }
  const redis = createClient({ url: TEST_REDIS_URL, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL} (set TEST_REDIS_URL): ${(error as Error).message}`);
  } finally {
    if (redis.isOpen) await redis.close();
  }

  await dropStaleDatabases(admin);
  const template = templateDatabaseName(id);
  await admin.query(`CREATE DATABASE ${template}`);
  const dataSource = new DataSource({ type: 'postgres', url: databaseUrl(template), migrations: MIGRATIONS, migrationsTableName: 'typeorm_migrations' });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  const workers = Number(process.env.TEST_WORKERS ?? 4);
  for (let worker = 1; worker <= workers; worker++) {
    await admin.query(`CREATE DATABASE tm_test_${id}_w${worker} TEMPLATE ${template}`);
  }
  await admin.end();
}

/** Databases of runs that ended more than two hours ago without their teardown (killed runs). */
async function dropStaleDatabases(admin: Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'tm\\_test\\_%'`);
  const cutoff = Date.now() - 2 * 3600_000;
  for (const { datname } of rows) {
    const started = parseInt(datname.split('_')[2]?.slice(0, -4) ?? '', 36);
    if (Number.isFinite(started) && started < cutoff) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
}
