import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module.js';
import { CachedHitFastPath } from './cached-hit-fast-path.js';

/** Cache hits served ahead of Express and Nest; configureApp puts its listener on the HTTP server. */
@Module({
  imports: [DiscoveryModule, AuthModule],
  providers: [CachedHitFastPath],
  exports: [CachedHitFastPath],
})
export class FastPathModule {}
