import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config.js';
import { loadEnvFile } from './src/config/env-file.js';
import { ENTITIES } from './src/database/entities/index.js';
import { MIGRATIONS } from './src/database/migrations.js';

// The DataSource the TypeORM CLI uses (npm run migration:run / migration:revert / migration:generate).
// It needs DATABASE_URL: the embedded database applies its migrations itself at start-up.
loadEnvFile();
const config = loadConfig();
if (!config.DATABASE_URL) {
  throw new Error('DATABASE_URL is required for the TypeORM CLI (the embedded database migrates itself at start-up)');
}

export default new DataSource({
  type: 'postgres',
  url: config.DATABASE_URL,
  entities: ENTITIES,
  migrations: MIGRATIONS,
  migrationsTableName: 'typeorm_migrations',
  migrationsTransactionMode: 'each',
  synchronize: false,
});
