import { Global, Module } from '@nestjs/common';
import { AuthRepository } from '../auth/auth.repository.js';
import { HashQueue } from '../auth/hash-queue.js';
import { PrincipalCache } from '../auth/principal-cache.js';
import { RevocationChannel } from '../auth/revocation-channel.js';
import { OrganizationsRepository } from '../organizations/organizations.repository.js';
import { UsersRepository } from '../users/users.repository.js';
import { ChangeNotifier } from './change-notifier.js';

/** Who the tenant and the caller are, shared by every feature module. */
@Global()
@Module({
  providers: [ChangeNotifier, PrincipalCache, RevocationChannel, HashQueue, AuthRepository, OrganizationsRepository, UsersRepository],
  exports: [ChangeNotifier, PrincipalCache, RevocationChannel, HashQueue, AuthRepository, OrganizationsRepository, UsersRepository],
})
export class TenancyModule {}
