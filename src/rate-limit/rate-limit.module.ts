import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { getOptionsToken, getStorageToken } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config.js';
import { RateLimitGuard, throttlerOptions } from './rate-limit.guard.js';
import { RateLimitStats } from './rate-limit-stats.js';
import { RateLimitStorage } from './rate-limit-storage.js';

/**
 * Import after AuthModule: global guards run in registration order, and this one needs the principal.
 * Global so the metrics exporter can inject RateLimitStats.
 */
@Global()
@Module({
  providers: [
    RateLimitStats,
    RateLimitStorage,
    // The throttler's own tokens, filled with our options and storage (ThrottlerModule would only add these two).
    { provide: getOptionsToken(), inject: [AppConfig], useFactory: throttlerOptions },
    { provide: getStorageToken(), useExisting: RateLimitStorage },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  // The cached-hit fast path spends budgets through the same storage.
  exports: [RateLimitStats, RateLimitStorage],
})
export class RateLimitModule {}
