import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { ENTITIES } from './entities/index.js';
import { MIGRATIONS } from './migrations.js';

/** The role every request transaction switches to: not the owner, not a superuser, so RLS applies. */
export const APP_ROLE = 'toolbox_app';

export interface Database {
  dataSource: DataSource;
  /** Present in the embedded mode; closed after the DataSource on shutdown. */
  pglite?: { closed: boolean; close(): Promise<void> };
}

function baseOptions(config: AppConfig): Partial<DataSourceOptions> {
  return {
    type: 'postgres',
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  } as Partial<DataSourceOptions>;
}

/** PostgreSQL when DATABASE_URL is set; otherwise PGlite under the real pg Pool with one connection. */
export async function openDatabase(config: AppConfig): Promise<Database> {
  if (config.DATABASE_URL) {
    const poolOptions = { max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 };
    // The primary only: read replicas have pools of their own (ReadReplicas), so one that is down never stops start-up.
    const options = { ...baseOptions(config), url: config.DATABASE_URL, extra: poolOptions } as DataSourceOptions;
    return { dataSource: await new DataSource(options).initialize() };
  }

  // Dynamic import: PGlite ships ESM, and its CommonJS build mishandles memory:// data directories.
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const dataDir = config.EMBEDDED_DATA_DIR;
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) {
    mkdirSync(dataDir, { recursive: true });
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initializeDataDirectory(dataDir);
  }
  const pglite = await PGlite.create(inMemory ? undefined : dataDir, { postgresqlconf: EMBEDDED_POSTGRESQL_CONF });
  const pgConfig = createPgConfig(pglite);
  const options = {
    ...baseOptions(config),
    // One connection for the one PGlite session; never idle it out, the adapter's connection object is reused.
    extra: { connection: pgConfig.connection, max: 1, idleTimeoutMillis: 0 },
  } as DataSourceOptions;
  return { dataSource: await new DataSource(options).initialize(), pglite };
}

/**
 * PGlite's defaults reserve 160 MB of shared buffers; the embedded mode serves one organization's dashboards and keeps
 * the whole process under 400 MB resident.
 */
const EMBEDDED_POSTGRESQL_CONF = 'shared_buffers = 16MB\nwal_buffers = 1MB';

/**
 * Runs initdb in a short-lived child process: PGlite keeps the initdb module's ~400 MB of WebAssembly memory for the
 * life of the process that ran it, which would more than double the embedded service's footprint.
 */
async function initializeDataDirectory(dataDir: string): Promise<void> {
  const entry = pathToFileURL(join(dirname(require.resolve('@electric-sql/pglite')), 'index.js')).href;
  const script = `const { PGlite } = await import(${JSON.stringify(entry)}); const db = await PGlite.create(process.env.PGLITE_INIT_DIR); await db.close();`;
  await promisify(execFile)(process.execPath, ['--liftoff-only', '--input-type=module', '-e', script], { env: { ...process.env, PGLITE_INIT_DIR: dataDir } });
}

export async function closeDatabase(database: Database): Promise<void> {
  if (database.dataSource.isInitialized) await database.dataSource.destroy();
  if (database.pglite && !database.pglite.closed) await database.pglite.close();
}
