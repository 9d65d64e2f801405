import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { closeDatabase, Database, openDatabase } from './data-source.factory.js';
import { ReadReplicas } from './read-replicas.js';
import { TenantTransactions } from './tenant-transactions.js';

export const DATABASE = Symbol('DATABASE');

@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<Database> => {
        const logger = new Logger('Database');
        const database = await openDatabase(config);
        if (config.embeddedDatabase) {
          logger.log(`Embedded PostgreSQL (PGlite) at ${config.EMBEDDED_DATA_DIR}: set DATABASE_URL to use a PostgreSQL server`);
        }
        if (config.migrationsRun) {
          const applied = await database.dataSource.runMigrations({ transaction: 'each' });
          if (applied.length > 0) logger.log(`Applied migrations: ${applied.map((m) => m.name).join(', ')}`);
        }
        return database;
      },
    },
    { provide: DataSource, inject: [DATABASE], useFactory: (database: Database) => database.dataSource },
    ReadReplicas,
    TenantTransactions,
  ],
  exports: [DataSource, ReadReplicas, TenantTransactions, DATABASE],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async onApplicationShutdown(): Promise<void> {
    await closeDatabase(this.database);
  }
}
