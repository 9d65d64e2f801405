import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { DatabaseModule } from '../database/database.module.js';
import { OrganizationsRepository } from '../organizations/organizations.repository.js';

/** What operations need, and nothing that serves HTTP: the service's configuration and database layer. */
@Module({})
export class CliModule {
  /** The configuration is loaded (and validated) once by the caller, so a bad value is reported before connecting. */
  static withConfig(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      global: true,
      imports: [DatabaseModule],
      providers: [{ provide: AppConfig, useValue: config }, OrganizationsRepository],
      exports: [AppConfig, OrganizationsRepository],
    };
  }
}
