import { DynamicModule, Module } from '@nestjs/common';
import { AuthRepository } from '../auth/auth.repository.js';
import { HashQueue } from '../auth/hash-queue.js';
import { RevocationChannel } from '../auth/revocation-channel.js';
import { Clock } from '../common/clock.js';
import { AppConfig } from '../config/app-config.js';
import { DatabaseModule } from '../database/database.module.js';
import { OrganizationsRepository } from '../organizations/organizations.repository.js';
import { RedisModule } from '../redis/redis.module.js';
import { ChangeNotifier } from '../tenancy/change-notifier.js';
import { UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';

const PROVIDERS = [OrganizationsRepository, UsersRepository, UsersService, AuthRepository, HashQueue, RevocationChannel, ChangeNotifier, Clock];

/**
 * What operations need, and nothing that serves HTTP: the service's configuration, database layer, and the user rules
 * (with Redis when configured, so a role or password change reaches the running instances at once).
 */
@Module({})
export class CliModule {
  /** The configuration is loaded (and validated) once by the caller, so a bad value is reported before connecting. */
  static withConfig(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      global: true,
      imports: [DatabaseModule, RedisModule],
      providers: [{ provide: AppConfig, useValue: config }, ...PROVIDERS],
      exports: [AppConfig, ...PROVIDERS],
    };
  }
}
