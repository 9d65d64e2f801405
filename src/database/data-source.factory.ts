import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { EMBEDDED_POSTGRESQL_CONF, prepareEmbeddedDataDirectory } from './embedded-data-directory.js';
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
    const poolOptions = { max: config.DATABASE_POOL_SIZE, connectionTimeoutMillis: 5000, idleTimeoutMillis: config.DATABASE_POOL_IDLE_SECONDS * 1000 };
    // The primary only: read replicas have pools of their own (ReadReplicas), so one that is down never stops start-up.
    const options = { ...baseOptions(config), url: config.DATABASE_URL, extra: poolOptions } as DataSourceOptions;
    return { dataSource: await new DataSource(options).initialize() };
  }

  const dataDir = config.EMBEDDED_DATA_DIR;
  const inMemory = dataDir.startsWith('memory://');
  await prepareEmbeddedDataDirectory(dataDir);
  // Dynamic import: PGlite ships ESM, and its CommonJS build mishandles memory:// data directories.
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const pglite = await PGlite.create(inMemory ? undefined : dataDir, { postgresqlconf: EMBEDDED_POSTGRESQL_CONF });
  const pgConfig = createPgConfig(pglite);
  const options = {
    ...baseOptions(config),
    // One connection for the one PGlite session; never idle it out, the adapter's connection object is reused.
    extra: { connection: pgConfig.connection, max: 1, idleTimeoutMillis: 0 },
  } as DataSourceOptions;
  return { dataSource: await new DataSource(options).initialize(), pglite };
}

export async function closeDatabase(database: Database): Promise<void> {
  if (database.dataSource.isInitialized) await database.dataSource.destroy();
  if (database.pglite && !database.pglite.closed) await database.pglite.close();
}
