import { Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.js';
import { MetricsCacheModule } from './cache/metrics-cache.module.js';
import { ConfigModule } from './config/config.module.js';
import { ContentModule } from './content/content.module.js';
import { DatabaseModule } from './database/database.module.js';
import { DemoModule } from './demo/demo.module.js';
import { EventsModule } from './events/events.module.js';
import { FastPathModule } from './fast-path/fast-path.module.js';
import { HealthModule } from './health/health.module.js';
import { InsightsModule } from './insights/insights.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { PartitionsModule } from './partitions/partitions.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RedisModule } from './redis/redis.module.js';
import { StreamModule } from './stream/stream.module.js';
import { TenancyModule } from './tenancy/tenancy.module.js';
import { UsersModule } from './users/users.module.js';
import { XapiModule } from './xapi/xapi.module.js';

@Module({
  imports: [
    ConfigModule,
    ObservabilityModule,
    // Early, so that Express reaches the probes' routes (checked every few seconds by a load balancer) first.
    HealthModule,
    DatabaseModule,
    PartitionsModule,
    RedisModule,
    TenancyModule,
    AuthModule,
    // After AuthModule: its guard runs after AuthGuard and RolesGuard, so it sees the principal and tier.
    RateLimitModule,
    UsersModule,
    ContentModule,
    EventsModule,
    XapiModule,
    MetricsModule,
    InsightsModule,
    StreamModule,
    MetricsCacheModule,
    DemoModule,
    FastPathModule,
  ],
})
export class AppModule {}
