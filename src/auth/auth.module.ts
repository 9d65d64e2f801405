import { createSecretKey } from 'node:crypto';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { AppConfig } from '../config/app-config.js';
import { AuthController } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService } from './auth.service.js';
import { Authenticator } from './authenticator.js';
import { FailureCounters } from './failure-counters.js';
import { LoginLimits } from './login-limits.js';
import { RolesGuard } from './roles.guard.js';
import { TokenVerifier } from './token-verifier.js';

@Module({
  imports: [
    ApiKeysModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // A KeyObject, not a string: given a string, jsonwebtoken first tries (and fails) to parse it as a public
        // key on every verification, which cost a fifth of the CPU of a cached dashboard request.
        secret: createSecretKey(Buffer.from(config.jwtSecret)),
        signOptions: { algorithm: 'HS256', expiresIn: config.JWT_TTL },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokenVerifier,
    Authenticator,
    FailureCounters,
    LoginLimits,
    // Global guards run in this order: who is calling, then may they.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  // The cached-hit fast path (and any long-lived response) authenticates through the same Authenticator.
  exports: [TokenVerifier, Authenticator],
})
export class AuthModule {}
